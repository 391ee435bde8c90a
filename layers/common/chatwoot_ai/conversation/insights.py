"""The business owner's view of the history (docs/conversation.md "Traces"): a tenant's conversations newest first,
one conversation with each bot turn's trace, and the numbers per day. Read-only: the worker writes (history.py).

Both lists come from the HistoryTable's sparse `by_tenant` index, so a tenant's reads never scan other tenants' items.
The metrics read every trace of the period (a few hundred bytes each): fine for thousands of turns a day; a tenant
with far more would want counters kept as turns happen (the Powertools metrics are those, in CloudWatch).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from chatwoot_ai.conversation.history import STATE_SK, TENANT_INDEX, conversation_pk
from chatwoot_ai.conversation.trace import public_trace
from chatwoot_ai.errors import ApiError

MAX_TURNS = 500  # of one conversation, the newest


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals as ints or floats, for JSON."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(_plain(key)).encode()).decode()


def decode_cursor(cursor: str, tenant_key: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error) as exc:
        raise ApiError(422, "validation_error", "cursor is not one this API gave", "cursor") from exc
    if not isinstance(key, dict) or key.get("tenant_key") != tenant_key or set(key) != {"tenant_key", "tenant_sk",
                                                                                         "pk", "sk"}:
        raise ApiError(422, "validation_error", "cursor is not one this API gave", "cursor")
    return key


def percentile(values: list[int], p: float) -> int | None:
    """Nearest-rank percentile (p in 0-100) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class InsightsReader:
    """Reads one HistoryTable (a boto3 Table resource)."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def _query(self, **kwargs: Any) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        response = self.table.query(**kwargs)
        return list(response.get("Items", [])), response.get("LastEvaluatedKey")

    # ------------------------------------------------------------------ the list
    def conversations(self, tenant_id: str, limit: int = 20, status: str | None = None, since_ms: int = 0,
                      cursor: str | None = None) -> dict[str, Any]:
        """Newest activity first; `status` bot|human; `since_ms` last activity at or after; paged by `next`."""
        from boto3.dynamodb.conditions import Key

        tenant_key = f"convs#{tenant_id}"
        condition = Key("tenant_key").eq(tenant_key) & Key("tenant_sk").gte(f"{since_ms:013d}")
        start = decode_cursor(cursor, tenant_key) if cursor else None
        out: list[dict[str, Any]] = []
        resume: dict[str, Any] | None = None
        while resume is None:
            kwargs: dict[str, Any] = {"IndexName": TENANT_INDEX, "KeyConditionExpression": condition,
                                      "ScanIndexForward": False, "Limit": max(limit, 20)}
            if start:
                kwargs["ExclusiveStartKey"] = start
            items, start = self._query(**kwargs)
            for index, item in enumerate(items):
                row = self._row(item)
                if status and row["status"] != status:
                    continue
                out.append(row)
                if len(out) == limit:
                    if index < len(items) - 1 or start is not None:
                        resume = {k: item[k] for k in ("tenant_key", "tenant_sk", "pk", "sk")}
                    break
            if len(out) == limit or start is None:
                break
        for row in out:
            row["turns"] = self._count_turns(row.pop("_pk"))
        return {"conversations": out, "next": encode_cursor(resume) if resume else None}

    @staticmethod
    def _row(item: dict[str, Any]) -> dict[str, Any]:
        return {"account_id": int(item.get("account_id", 0)), "conversation_id": int(item.get("conversation_id", 0)),
                "channel": str(item.get("channel", "")),
                "status": "human" if item.get("human_takeover") else "bot",
                "last_at": iso(int(item.get("last_at", 0))), "_pk": item["pk"]}

    def _count_turns(self, pk: str) -> int:
        from boto3.dynamodb.conditions import Key

        total, start = 0, None
        while True:
            kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(pk) & Key("sk").between("turn#",
                                                                                                   "turn#~"),
                                      "Select": "COUNT"}
            if start:
                kwargs["ExclusiveStartKey"] = start
            response = self.table.query(**kwargs)
            total += int(response.get("Count", 0))
            start = response.get("LastEvaluatedKey")
            if not start:
                return total

    # ------------------------------------------------------------------ one conversation
    def conversation(self, tenant_id: str, account_id: int, conversation_id: int,
                     redact_internal: bool) -> dict[str, Any]:
        """Its turns oldest first; each bot turn with its trace (a handoff without a message to the customer shows
        as a bot turn with no content). 404 when the tenant has no such conversation."""
        from boto3.dynamodb.conditions import Key

        pk = conversation_pk(tenant_id, account_id, conversation_id)
        items: list[dict[str, Any]] = []
        start = None
        while True:
            kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(pk), "ScanIndexForward": False}
            if start:
                kwargs["ExclusiveStartKey"] = start
            page, start = self._query(**kwargs)
            items += page
            if not start or len([i for i in items if str(i["sk"]).startswith("turn#")]) >= MAX_TURNS:
                break
        turns = sorted((i for i in items if str(i["sk"]).startswith("turn#")), key=lambda i: i["sk"])[-MAX_TURNS:]
        if not turns and not any(i["sk"] == STATE_SK for i in items):
            raise ApiError(404, "not_found", f"no conversation {account_id}/{conversation_id} for this tenant",
                           "conversation_id")
        traces = {str(i["source_id"]): _plain(i["trace"]) for i in items if str(i["sk"]).startswith("trace#")}
        out: list[dict[str, Any]] = []
        for item in turns:
            role, message_id = str(item.get("role", "")), str(item.get("message_id", ""))
            trace = None
            if role == "assistant" and message_id[:1] in ("r", "h"):
                trace = traces.pop(message_id[1:], None)
            out.append({"role": role, "content": str(item.get("content", "")), "at": iso(int(item.get("at_ms", 0))),
                        "trace": public_trace(trace, redact_internal)})
        for item in items:  # traces with no message of their own (a handoff with an empty message)
            if str(item["sk"]).startswith("trace#") and str(item["source_id"]) in traces:
                out.append({"role": "assistant", "content": "", "at": iso(int(item["at_ms"])),
                            "trace": public_trace(_plain(item["trace"]), redact_internal)})
        out.sort(key=lambda t: t["at"])
        return {"turns": out}

    # ------------------------------------------------------------------ the numbers
    def metrics(self, tenant_id: str, days: int, timezone: str = "UTC", now: datetime | None = None) -> dict[str, Any]:
        """Per day (in the tenant's timezone), oldest first, every day of the period present."""
        from boto3.dynamodb.conditions import Key

        try:
            zone = ZoneInfo(timezone)
        except (KeyError, ValueError):
            zone = ZoneInfo("UTC")
        today = (now or datetime.now(UTC)).astimezone(zone).date()
        first = today - timedelta(days=days - 1)
        since_ms = int(datetime(first.year, first.month, first.day, tzinfo=zone).timestamp() * 1000)
        buckets: dict[str, dict[str, Any]] = {}
        for offset in range(days):
            day = (first + timedelta(days=offset)).isoformat()
            buckets[day] = {"day": day, "turns": 0, "answered": 0, "handed_off": defaultdict(int), "reply_ms": [],
                            "llm_calls": 0, "tokens": 0}
        condition = Key("tenant_key").eq(f"traces#{tenant_id}") & Key("tenant_sk").gte(f"{since_ms:013d}")
        start = None
        while True:
            kwargs: dict[str, Any] = {"IndexName": TENANT_INDEX, "KeyConditionExpression": condition}
            if start:
                kwargs["ExclusiveStartKey"] = start
            items, start = self._query(**kwargs)
            for item in items:
                day = datetime.fromtimestamp(int(item["at_ms"]) / 1000, zone).date().isoformat()
                bucket = buckets.get(day)
                if bucket is None:
                    continue
                trace = _plain(item.get("trace") or {})
                bucket["turns"] += 1
                if trace.get("outcome") == "answered":
                    bucket["answered"] += 1
                else:
                    bucket["handed_off"][str((trace.get("handoff") or {}).get("reason") or "unknown")] += 1
                if trace.get("reply_ms") is not None:
                    bucket["reply_ms"].append(int(trace["reply_ms"]))
                llm = trace.get("llm") or {}
                bucket["llm_calls"] += int(llm.get("llm_calls", 0))
                bucket["tokens"] += int(llm.get("tokens", 0))
            if not start:
                break
        out = []
        for bucket in buckets.values():
            times = bucket.pop("reply_ms")
            bucket["handed_off"] = dict(bucket["handed_off"])
            bucket["reply_ms_p50"], bucket["reply_ms_p95"] = percentile(times, 50), percentile(times, 95)
            out.append(bucket)
        return {"tenant_id": tenant_id, "timezone": zone.key, "days": out}
