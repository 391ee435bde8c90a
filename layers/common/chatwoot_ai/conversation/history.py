"""Conversation history and state in the HistoryTable (a bot token cannot list Chatwoot messages, so we keep them).

One partition per conversation: `pk = conv#{tenant_id}#{account_id}#{conversation_id}`;
`sk = turn#{received_at_ms}#{message_id}` for turns (time order), `sk = state` for the conversation's state
(human takeover, the last turn answered), and `sk = echo#...` for the messages the bot posted (so an account
webhook's echo of them, an outgoing message from the `user` whose token the bot uses, is not taken for a human).
Items expire through the `expires_at` TTL.

The business owner's view (chatwoot_ai.conversation.insights) adds: `sk = trace#{at_ms}#{source_message_id}`, each
bot turn's trace (conversation.trace), expiring after the tenant's `insights.trace_ttl_days`; the tenant's numbers per
day (`pk = metrics#{tenant_id}`, `sk = day#{YYYY-MM-DD}`: counters and a histogram of the times to reply), kept as
long; and on
the state item the conversation's listing (channel, last_at) with the sparse `by_tenant` index's keys (`tenant_key =
convs#{tenant_id}`, `tenant_sk` = the last activity first), so a tenant's conversations are read newest first
without a scan.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from chatwoot_ai.conversation.queue_job import turn_key

STATE_SK = "state"
TENANT_INDEX = "by_tenant"

ECHO_TEXT_TTL_S = 900  # the text of a reply about to be posted: its echo arrives within seconds
_TURN_HI = "turn#~"  # sorts after every turn key


def reply_bucket(ms: int) -> int:
    """The histogram bucket of a time to reply (its upper bound): 100 ms steps under 10 s, 1 s under 60 s, then 10 s.
    A day's percentiles are read from these buckets, to that resolution, however many turns the day had."""
    ms = max(0, ms)
    step = 100 if ms < 10_000 else 1000 if ms < 60_000 else 10_000
    return -(-ms // step) * step


def conversation_pk(tenant_id: str, account_id: int, conversation_id: int) -> str:
    return f"conv#{tenant_id}#{account_id}#{conversation_id}"


@dataclass(frozen=True)
class Turn:
    sk: str
    role: str  # "customer" | "assistant"
    content: str
    message_id: str
    at_ms: int
    attachments: str = ""  # the message's attachments (JSON) until the worker has read them


@dataclass(frozen=True)
class ConversationState:
    human_takeover: bool = False
    answered_through: str = ""  # sk of the last customer turn an answer covered
    takeover_reason: str = ""
    takeover_at: int = 0  # epoch seconds of the last human sign (the takeover, or a human's later reply)


class HistoryStore:
    """Data access for one table: a boto3 DynamoDB Table resource, or its name (the resource, and boto3 with it, is
    then made on first use: the webhook receiver's one write goes through its low-level client)."""

    def __init__(self, table: Any, ttl_days: int = 30) -> None:
        self._table = None if isinstance(table, str) else table
        self.name: str = table if isinstance(table, str) else table.name
        self.ttl_s = ttl_days * 86400

    @property
    def table(self) -> Any:
        if self._table is None:
            from chatwoot_ai import aws

            self._table = aws.table(self.name)
        return self._table

    def _expires(self) -> int:
        return int(time.time()) + self.ttl_s

    def turn_put(self, pk: str, role: str, content: str, message_id: int | str, at_ms: int,
                 attachments: str | None = None) -> dict[str, Any]:
        """The same item as `add_turn`, as a Put of a low-level TransactWriteItems (the receiver's one write)."""
        item = {"pk": {"S": pk}, "sk": {"S": turn_key(at_ms, message_id)}, "role": {"S": role},
                "content": {"S": content}, "message_id": {"S": str(message_id)}, "at_ms": {"N": str(at_ms)},
                "expires_at": {"N": str(self._expires())}}
        if attachments:
            item["attachments"] = {"S": attachments}
        return {"Put": {"TableName": self.name, "Item": item}}

    def add_turn(self, pk: str, role: str, content: str, message_id: int | str, at_ms: int,
                 attachments: str | None = None, usage: dict[str, Any] | None = None) -> Turn:
        """`usage`: what the turn's answer cost (LLM calls, tokens, latency; economy.TurnUsage.summary)."""
        sk = turn_key(at_ms, message_id)
        item: dict[str, Any] = {"pk": pk, "sk": sk, "role": role, "content": content, "message_id": str(message_id),
                                "at_ms": at_ms, "expires_at": self._expires()}
        if attachments:
            item["attachments"] = attachments
        if usage is not None:
            item["usage"] = json.loads(json.dumps(usage), parse_float=Decimal)
        self.table.put_item(Item=item)
        return Turn(sk, role, content, str(message_id), at_ms, attachments or "")

    # ---------------------------------------------------------------- traces and the conversations' listing
    def add_trace(self, pk: str, tenant_id: str, source_id: str, at_ms: int, trace: dict[str, Any],
                  ttl_days: int, day: str) -> None:
        """One bot turn's trace (conversation.trace.build_trace), and the turn added to the tenant's numbers of `day`
        (YYYY-MM-DD in the tenant's timezone): both kept `ttl_days`."""
        expires = int(time.time()) + ttl_days * 86400
        # The trace as one JSON string: read whole, never queried into, and cheap to (de)serialise.
        self.table.put_item(Item={"pk": pk, "sk": f"trace#{at_ms:013d}#{source_id}", "source_id": source_id,
                                  "at_ms": at_ms, "trace": json.dumps(trace, ensure_ascii=False),
                                  "expires_at": expires})
        handoff, llm = trace.get("handoff") or {}, trace.get("llm") or {}
        counters = {"turns": 1, "answered": int(trace["outcome"] == "answered"),
                    "llm_calls": int(llm.get("llm_calls", 0)), "tokens": int(llm.get("tokens", 0))}
        names = {f"#{k}": k for k in counters}
        values: dict[str, Any] = {f":{k}": v for k, v in counters.items()}
        add = ", ".join(f"#{k} :{k}" for k in counters)
        if trace["outcome"] == "handoff":
            names["#reason"] = "handoff_" + str(handoff.get("reason") or "unknown")
            values[":one"] = 1
            add += ", #reason :one"
        if trace.get("reply_ms") is not None:  # the day's histogram of times to reply
            names["#rt"] = f"rt_{reply_bucket(int(trace['reply_ms']))}"
            values[":one"] = 1
            add += ", #rt :one"
        values[":e"] = expires
        self.table.update_item(Key={"pk": f"metrics#{tenant_id}", "sk": f"day#{day}"},
                               UpdateExpression=f"ADD {add} SET expires_at = :e",
                               ExpressionAttributeNames=names, ExpressionAttributeValues=values)

    def day_metrics(self, tenant_id: str, first_day: str, last_day: str) -> list[dict[str, Any]]:
        """The tenant's numbers per day, `first_day` to `last_day` (days without a turn have no item)."""
        from boto3.dynamodb.conditions import Key

        condition = Key("pk").eq(f"metrics#{tenant_id}") & Key("sk").between(f"day#{first_day}", f"day#{last_day}")
        return self._query(condition, forward=True, limit=400)

    def touch(self, pk: str, tenant_id: str, account_id: int, conversation_id: int, channel: str,
              at_ms: int) -> None:
        """The conversation's place in the tenant's listing: its channel and last activity (never moved back)."""
        try:
            self.table.update_item(
                Key={"pk": pk, "sk": STATE_SK},
                UpdateExpression="SET tenant_key = :k, tenant_sk = :s, last_at = :a, channel = :c, "
                                 "account_id = :acc, conversation_id = :conv, expires_at = :e",
                ConditionExpression="attribute_not_exists(last_at) OR last_at < :a",
                ExpressionAttributeValues={":k": f"convs#{tenant_id}", ":s": f"{at_ms:013d}#{pk}", ":a": at_ms,
                                           ":c": channel, ":acc": account_id, ":conv": conversation_id,
                                           ":e": self._expires()})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    # ---------------------------------------------------------------- a tenant's LLM use per day (its budget)
    def day_usage(self, tenant_id: str, day: str) -> tuple[int, int]:
        """(LLM calls, tokens) the tenant used on `day` (YYYY-MM-DD, UTC)."""
        item = self.table.get_item(Key={"pk": f"usage#{tenant_id}", "sk": f"day#{day}"}).get("Item") or {}
        return int(item.get("calls", 0)), int(item.get("tokens", 0))

    def add_day_usage(self, tenant_id: str, day: str, calls: int, tokens: int) -> None:
        if calls <= 0 and tokens <= 0:
            return
        self.table.update_item(Key={"pk": f"usage#{tenant_id}", "sk": f"day#{day}"},
                               UpdateExpression="ADD calls :c, tokens :t SET expires_at = :e",
                               ExpressionAttributeValues={":c": calls, ":t": tokens,
                                                          ":e": int(time.time()) + 3 * 86400})

    def turns(self, pk: str, limit: int = 20, after: str | None = None) -> list[Turn]:
        """The last `limit` turns (oldest first), or every turn after the sort key `after`."""
        from boto3.dynamodb.conditions import Key
        if after:
            condition = Key("pk").eq(pk) & Key("sk").between(after + "\x00", _TURN_HI)
            items = self._query(condition, forward=True, limit=200)
        else:
            condition = Key("pk").eq(pk) & Key("sk").between("turn#", _TURN_HI)
            items = list(reversed(self._query(condition, forward=False, limit=limit)))
        return [Turn(i["sk"], str(i.get("role", "")), str(i.get("content", "")), str(i.get("message_id", "")),
                     int(i.get("at_ms", 0)), str(i.get("attachments", ""))) for i in items]

    def _query(self, condition: Any, forward: bool, limit: int) -> list[dict[str, Any]]:
        response = self.table.query(KeyConditionExpression=condition, ScanIndexForward=forward, Limit=limit,
                                    ConsistentRead=True)
        return list(response.get("Items", []))

    def state(self, pk: str) -> ConversationState:
        item = self.table.get_item(Key={"pk": pk, "sk": STATE_SK}, ConsistentRead=True).get("Item") or {}
        return ConversationState(bool(item.get("human_takeover", False)), str(item.get("answered_through", "")),
                                 str(item.get("takeover_reason", "")), int(item.get("takeover_at", 0)))

    def set_takeover(self, pk: str, taken: bool, reason: str = "") -> None:
        self.table.update_item(
            Key={"pk": pk, "sk": STATE_SK},
            UpdateExpression="SET human_takeover = :t, takeover_reason = :r, updated_at = :u, takeover_at = :u, "
                             "expires_at = :e",
            ExpressionAttributeValues={":t": taken, ":r": reason, ":u": int(time.time()), ":e": self._expires()},
        )

    # ------------------------------------------------------------------ the bot's own messages (echoes)
    @staticmethod
    def _text_sk(content: str) -> str:
        return "echo#text#" + hashlib.sha256(content.strip().encode()).hexdigest()[:24]

    def expect_echo(self, pk: str, content: str) -> None:
        """Before posting: its echo may reach the receiver before the post's answer (and its id) reaches us."""
        now = int(time.time())
        self.table.put_item(Item={"pk": pk, "sk": self._text_sk(content), "until": now + ECHO_TEXT_TTL_S,
                                  "expires_at": now + ECHO_TEXT_TTL_S})

    def record_posted(self, pk: str, message_id: Any) -> None:
        """After posting: the id Chatwoot gave the bot's message."""
        if message_id is not None:
            self.table.put_item(Item={"pk": pk, "sk": f"echo#id#{message_id}", "expires_at": self._expires()})

    def is_echo(self, pk: str, message_id: Any, content: Any) -> bool:
        """Was this outgoing message posted by the bot? Its id, or (while the post was in flight) its text."""
        if self.table.get_item(Key={"pk": pk, "sk": f"echo#id#{message_id}"}, ConsistentRead=True).get("Item"):
            return True
        if not isinstance(content, str) or not content.strip():
            return False
        item = self.table.get_item(Key={"pk": pk, "sk": self._text_sk(content)}, ConsistentRead=True).get("Item")
        return bool(item) and int(item.get("until", 0)) >= int(time.time())

    def mark_answered(self, pk: str, through_sk: str) -> bool:
        """Moves the answered watermark forward (never back). False when it was already at or past `through_sk`."""
        try:
            self.table.update_item(
                Key={"pk": pk, "sk": STATE_SK},
                UpdateExpression="SET answered_through = :s, updated_at = :u, expires_at = :e",
                ConditionExpression="attribute_not_exists(answered_through) OR answered_through < :s",
                ExpressionAttributeValues={":s": through_sk, ":u": int(time.time()), ":e": self._expires()},
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
