"""The business owner's view of the history (docs/conversation.md "Traces"): a tenant's conversations newest first,
one conversation with each bot turn's trace, and the numbers per day. Read-only: the worker writes (history.py).

The list comes from the HistoryTable's sparse `by_tenant` index, so a tenant's reads never scan other tenants' items;
the metrics from the per-day items the worker adds to as turns happen (one small item a day: the period is one query,
however busy the tenant).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from chatwoot_ai.conversation.history import STATE_SK, TENANT_INDEX, HistoryStore, conversation_pk
from chatwoot_ai.conversation.hours import zone
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


def _trace(item: dict[str, Any]) -> dict[str, Any]:
    trace: dict[str, Any] = json.loads(str(item.get("trace") or "{}"))
    return trace


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


def histogram_percentile(histogram: dict[int, int], p: float) -> int | None:
    """Nearest-rank percentile (p in 0-100) of the values a histogram counts ({bucket upper bound: count}), as the
    upper bound of its bucket; None when it counts nothing."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = max(1, math.ceil(p / 100 * total)), 0
    for bound in sorted(histogram):
        seen += histogram[bound]
        if seen >= rank:
            return bound
    return max(histogram)


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
        traces = {str(i["source_id"]): _trace(i) for i in items if str(i["sk"]).startswith("trace#")}
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
                            "trace": public_trace(_trace(item), redact_internal)})
        out.sort(key=lambda t: t["at"])
        return {"turns": out}

    # ------------------------------------------------------------------ the numbers
    def metrics(self, tenant_id: str, days: int, timezone: str = "UTC", now: datetime | None = None) -> dict[str, Any]:
        """Per day (in the tenant's timezone, as the worker counted them), oldest first, every day present; and the
        whole period (its percentiles from the days' histograms together)."""
        tz = zone(timezone)
        today = (now or datetime.now(UTC)).astimezone(tz).date()
        first = today - timedelta(days=days - 1)
        stored = {str(i["sk"]).removeprefix("day#"): i for i in
                  HistoryStore(self.table).day_metrics(tenant_id, first.isoformat(), today.isoformat())}
        out: list[dict[str, Any]] = []
        whole: dict[int, int] = {}
        period: dict[str, Any] = {"turns": 0, "answered": 0, "handed_off": {}, "llm_calls": 0, "tokens": 0}
        for offset in range(days):
            day = (first + timedelta(days=offset)).isoformat()
            item = stored.get(day, {})
            times = {int(k.removeprefix("rt_")): int(v) for k, v in item.items() if k.startswith("rt_")}
            handed_off = {k.removeprefix("handoff_"): int(v) for k, v in sorted(item.items())
                          if k.startswith("handoff_")}
            row: dict[str, Any] = {
                "day": day, "turns": int(item.get("turns", 0)), "answered": int(item.get("answered", 0)),
                "handed_off": handed_off,
                "reply_ms_p50": histogram_percentile(times, 50), "reply_ms_p95": histogram_percentile(times, 95),
                "llm_calls": int(item.get("llm_calls", 0)), "tokens": int(item.get("tokens", 0))}
            out.append(row)
            for key in ("turns", "answered", "llm_calls", "tokens"):
                period[key] += row[key]
            for reason, count in handed_off.items():
                period["handed_off"][reason] = period["handed_off"].get(reason, 0) + count
            for bound, count in times.items():
                whole[bound] = whole.get(bound, 0) + count
        period["reply_ms_p50"] = histogram_percentile(whole, 50)
        period["reply_ms_p95"] = histogram_percentile(whole, 95)
        return {"tenant_id": tenant_id, "timezone": tz.key, "days": out, "period": period}
