"""The `ConfigChanged` event: what it looks like, how to recognise it, and how a stream record becomes one.

Every committed write to the config or mapping table reaches the DynamoDB stream; `config_stream` turns each one into
exactly one event on the EventBridge bus, and every config-caching function's rule delivers it to its handler.
"""

from __future__ import annotations

from typing import Any

EVENT_SOURCE = "chatwoot-ai.config"
DETAIL_TYPE = "ConfigChanged"


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


def mapping_detail(account_id: int, inbox_id: int | None) -> dict[str, Any]:
    return {"kind": "mapping", "chatwoot_account_id": account_id, "chatwoot_inbox_id": inbox_id}


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
        return mapping_detail(int(_attr(image, "chatwoot_account_id")), int(inbox) if inbox is not None else None)
    return None
