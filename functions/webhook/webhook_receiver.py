"""WebhookReceiverFunction, `POST /webhooks/chatwoot` (installation "default") and
`POST /webhooks/chatwoot/{installation}` (another Chatwoot server's accounts): verify, filter, de-duplicate, enqueue
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
from chatwoot_ai.conversation.intake import Busy, Intake, IntakeSettings, saturated, within
from chatwoot_ai.errors import ApiError, bad_request
from chatwoot_ai.memo import per_settings
from chatwoot_ai.middleware import config_changes
from chatwoot_ai.models import DEFAULT_INSTALLATION, check_installation
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import Settings, get_settings


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


def installation_of(event: dict[str, Any]) -> str:
    """The `{installation}` path segment, or "default" for the old URL; a 400 naming it when it is not a name."""
    name = (event.get("pathParameters") or {}).get("installation")
    if name is None:
        return DEFAULT_INSTALLATION
    try:
        return check_installation(str(name))
    except ValueError as exc:
        raise bad_request(str(exc), "installation") from exc


def answer_budget(context: Any, settings: Settings) -> float:
    """WEBHOOK_ANSWER_WITHIN_S, or less when the function's own deadline comes first (0.5 s kept to answer)."""
    budget = settings.webhook.answer_within_s
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        budget = min(budget, remaining() / 1000 - 0.5)
    return max(budget, 0.1)


def chatwoot_webhook(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    method = (event.get("requestContext") or {}).get("http", {}).get("method", "POST")
    if method != "POST":
        return http_result(405, ApiError(405, "method_not_allowed", "only POST is accepted").body())
    settings = get_settings()
    try:
        installation = installation_of(event)
        intake = get_intake()
        outcome = within(answer_budget(context, settings),
                         lambda: intake.handle(raw_body(event), dict(event.get("headers") or {}), installation))
    except Exception as exc:
        if isinstance(exc, Busy) or saturated(exc):
            # Chatwoot retries agent-bot webhooks on 429 (and 500); a 429 says "later", and why, without a trace.
            logger.warning("webhook busy; answering 429", extra={"reason": str(exc)[:200]})
            busy = ApiError(429, "busy", "the receiver is saturated; retry after the Retry-After seconds")
            return http_result(429, busy.body(), {"Retry-After": str(settings.webhook.retry_after_s)})
        # A 500 makes Chatwoot retry (it retries agent-bot webhooks on 429/500); the details stay in the log.
        err = error_for(exc, unexpected="webhook failed")
        return http_result(err.status, err.body())
    return http_result(outcome.status, outcome.body)


@logger.inject_lambda_context(clear_state=True)
@config_changes
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return chatwoot_webhook(event, context)
