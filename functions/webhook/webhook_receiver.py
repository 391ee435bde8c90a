"""WebhookReceiverFunction, `POST /webhooks/chatwoot`: verify, filter, de-duplicate, enqueue
(chatwoot_ai.conversation.intake); answers in milliseconds (Chatwoot waits 5 s).

The function has one route, so it reads the API Gateway v2 event itself: a router would add ~60 ms to every cold
start (measured with `python -X importtime`) and decide nothing.
"""

from __future__ import annotations

from typing import Any

from chatwoot_ai import aws
from chatwoot_ai.api import error_for, http_result, raw_body
from chatwoot_ai.config import get_config_cache
from chatwoot_ai.conversation.history import HistoryStore
from chatwoot_ai.conversation.intake import Intake, IntakeSettings
from chatwoot_ai.errors import ApiError
from chatwoot_ai.memo import per_settings
from chatwoot_ai.middleware import config_changes
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import Settings


@per_settings
def get_intake(settings: Settings) -> Intake:
    return Intake(
        configs=get_config_cache(),
        sqs=aws.client("sqs"),
        queue_url=settings.resources.conversations_queue_url,
        history=HistoryStore(settings.resources.history_table, settings.conversation.history_ttl_days),
        idempotency_table=settings.resources.idempotency_table,
        dynamodb_client=aws.client("dynamodb"),
        settings=IntakeSettings(settings.webhook.max_body_bytes, settings.webhook.signature_tolerance_s,
                                settings.webhook.idempotency_ttl_s, settings.webhook.dedupe_delivery_id,
                                settings.webhook.secret_overlap_s),
    )


def chatwoot_webhook(event: dict[str, Any]) -> dict[str, Any]:
    method = (event.get("requestContext") or {}).get("http", {}).get("method", "POST")
    if method != "POST":
        return http_result(405, ApiError(405, "method_not_allowed", "only POST is accepted").body())
    try:
        outcome = get_intake().handle(raw_body(event), dict(event.get("headers") or {}))
    except Exception as exc:
        # A 500 makes Chatwoot retry (it retries agent-bot webhooks on 429/500); the details stay in the log.
        err = error_for(exc, unexpected="webhook failed")
        return http_result(err.status, err.body())
    return http_result(outcome.status, outcome.body)


@logger.inject_lambda_context(clear_state=True)
@config_changes
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return chatwoot_webhook(event)
