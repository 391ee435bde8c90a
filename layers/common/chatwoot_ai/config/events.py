"""The `ConfigChanged` event: what it looks like, how to recognise it, and how a stream record becomes one.

Every committed write to the config or mapping table reaches the DynamoDB stream; `config_stream` turns each one into
exactly one event on the EventBridge bus, and every config-caching function's rule delivers it to its handler.
"""

from __future__ import annotations

import json
from typing import Any

from chatwoot_ai.observability import logger

EVENT_SOURCE = "chatwoot-ai.config"
DETAIL_TYPE = "ConfigChanged"
PUT_EVENTS_MAX = 10  # EventBridge PutEvents takes at most 10 entries


def is_config_changed_event(event: Any) -> bool:
    """True for an EventBridge `ConfigChanged` event (what a function's ConfigChanged rule delivers)."""
    return (
        isinstance(event, dict)
        and event.get("source") == EVENT_SOURCE
        and event.get("detail-type") == DETAIL_TYPE
        and isinstance(event.get("detail"), dict)
    )


def config_detail(tenant_id: str, domain: str, config_type: str, version: int | None) -> dict[str, Any]:
    return {"kind": "config", "tenant_id": tenant_id, "domain": domain, "config_type": config_type,
            "version": version}


def mapping_detail(account_id: int, inbox_id: int | None, installation: str = "default") -> dict[str, Any]:
    return {"kind": "mapping", "chatwoot_account_id": account_id, "chatwoot_inbox_id": inbox_id,
            "installation": installation}


def _attr(image: dict[str, Any], name: str) -> Any:
    """A value from a stream image (DynamoDB JSON: {"S": ...}, {"N": ...}, {"NULL": true})."""
    value = image.get(name)
    if not isinstance(value, dict) or not value:
        return None
    kind, raw = next(iter(value.items()))
    if kind == "N":
        return int(raw) if str(raw).lstrip("-").isdigit() else float(raw)
    if kind == "NULL":
        return None
    return raw


def detail_from_stream_record(record: dict[str, Any]) -> dict[str, Any] | None:
    """The event detail for one DynamoDB stream record, or None when the record is not a change callers care about
    (a per-version history item: its head item carries the same change)."""
    data = record.get("dynamodb") or {}
    image = data.get("NewImage") or data.get("OldImage") or {}
    kind = _attr(image, "kind")
    if kind == "head":
        version = _attr(image, "version")
        if record.get("eventName") == "REMOVE":
            version = None
        return config_detail(str(_attr(image, "tenant_id")), str(_attr(image, "domain")),
                             str(_attr(image, "config_type")), version)
    if kind == "mapping":
        inbox = _attr(image, "chatwoot_inbox_id")
        return mapping_detail(int(_attr(image, "chatwoot_account_id")), int(inbox) if inbox is not None else None,
                              str(_attr(image, "installation") or "default"))
    return None


def build_entries(records: list[dict[str, Any]], bus: str) -> list[tuple[str, dict[str, Any]]]:
    """(sequence number, PutEvents entry) for each record that is a change callers care about, in order."""
    out = []
    for record in records:
        sequence = str(record.get("dynamodb", {}).get("SequenceNumber", ""))
        try:
            detail = detail_from_stream_record(record)
        except (TypeError, ValueError, StopIteration):
            logger.exception("unreadable stream record skipped", extra={"sequence": sequence})
            continue
        if detail is not None:
            out.append((sequence, {"Source": EVENT_SOURCE, "DetailType": DETAIL_TYPE, "EventBusName": bus,
                                   "Detail": json.dumps(detail)}))
    return out


def publish(entries: list[tuple[str, dict[str, Any]]], events: Any) -> str | None:
    """Publish in order; the sequence number of the first record not published, or None when all were."""
    for start in range(0, len(entries), PUT_EVENTS_MAX):
        chunk = entries[start:start + PUT_EVENTS_MAX]
        try:
            response = events.put_events(Entries=[entry for _, entry in chunk])
        except Exception:
            logger.exception("PutEvents failed")
            return chunk[0][0]
        if response.get("FailedEntryCount"):
            for (sequence, _), result in zip(chunk, response.get("Entries", []), strict=False):
                if result.get("ErrorCode"):
                    logger.error("event not published", extra={"error": result.get("ErrorCode"),
                                                               "error_message": result.get("ErrorMessage")})
                    return sequence
            return chunk[0][0]
    return None
