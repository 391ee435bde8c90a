"""`POST /webhooks/chatwoot`: verify, filter, de-duplicate, enqueue; answers in milliseconds (Chatwoot waits 5 s)."""

from __future__ import annotations

import base64
import threading
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from webhook_intake import Intake, IntakeSettings

from chatwoot_ai import aws
from chatwoot_ai.api import install_error_handlers, json_response
from chatwoot_ai.config import get_config_cache, is_config_changed_event
from chatwoot_ai.conversation.history import HistoryStore
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import get_settings

app = APIGatewayHttpResolver()
install_error_handlers(app)

_lock = threading.Lock()
_built: tuple[object, Intake] | None = None


def get_intake() -> Intake:
    """One Intake per settings object (get_settings() is rebuilt when the runner or a test changes the environment)."""
    global _built
    settings = get_settings()
    built = _built
    if built is not None and built[0] is settings:
        return built[1]
    with _lock:
        if _built is None or _built[0] is not settings:
            intake = Intake(
                configs=get_config_cache(),
                sqs=aws.client("sqs"),
                queue_url=settings.conversations_queue_url,
                history=HistoryStore(aws.table(settings.history_table), settings.conversation_history_ttl_days),
                idempotency_table=settings.idempotency_table,
                dynamodb_client=aws.client("dynamodb"),
                settings=IntakeSettings(settings.webhook_max_body_bytes, settings.webhook_signature_tolerance_s,
                                        settings.webhook_idempotency_ttl_s, settings.webhook_dedupe_delivery_id),
            )
            _built = (settings, intake)
        return _built[1]


def raw_body(event: dict[str, Any]) -> bytes:
    """The body exactly as sent: the signature covers these bytes, not a re-serialization."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8")


@app.post("/webhooks/chatwoot")
def chatwoot_webhook() -> Response:
    event = app.current_event.raw_event
    outcome = get_intake().handle(raw_body(event), dict(app.current_event.headers or {}))
    return json_response(outcome.status, outcome.body)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if is_config_changed_event(event):
        get_config_cache().handle_event(event)
        return {}
    get_intake().register_context(context)
    return app.resolve(event, context)
