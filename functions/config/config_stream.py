"""ConfigStreamFunction: committed config and mapping changes (DynamoDB streams) -> `ConfigChanged` events.

Because the events come from the stream, a change that is committed is announced even if the writer crashed right
after writing. A record that cannot be published is reported in `batchItemFailures`, so Lambda retries from it
and nothing is lost; a retry may publish an event twice, which caches treat as a no-op.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chatwoot_ai import aws
from chatwoot_ai.config.events import DETAIL_TYPE, EVENT_SOURCE, detail_from_stream_record
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import get_settings

PUT_EVENTS_MAX = 10  # EventBridge PutEvents takes at most 10 entries


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


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    entries = build_entries(event.get("Records", []), get_settings().event_bus_name)
    failed = publish(entries, aws.client("events")) if entries else None
    logger.info("config changes published", extra={"records": len(event.get("Records", [])),
                                                   "events": len(entries), "failed_at": failed})
    return {"batchItemFailures": [{"itemIdentifier": failed}] if failed else []}
