"""ConfigStreamFunction: committed config and mapping changes (DynamoDB streams) -> `ConfigChanged` events
(chatwoot_ai.config.events).

Because the events come from the stream, a change that is committed is announced even if the writer crashed right
after writing. A record that cannot be published is reported in `batchItemFailures`, so Lambda retries from it
and nothing is lost; a retry may publish an event twice, which caches treat as a no-op.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chatwoot_ai import aws
from chatwoot_ai.config.events import build_entries, publish
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import get_settings


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    entries = build_entries(event.get("Records", []), get_settings().resources.event_bus_name)
    failed = publish(entries, aws.client("events")) if entries else None
    logger.info("config changes published", extra={"records": len(event.get("Records", [])),
                                                   "events": len(entries), "failed_at": failed})
    return {"batchItemFailures": [{"itemIdentifier": failed}] if failed else []}
