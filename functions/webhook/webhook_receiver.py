"""`POST /webhooks/chatwoot`: verify, filter, de-duplicate, enqueue; answers in milliseconds (Chatwoot waits 5 s).

The function has one route, so it reads the API Gateway v2 event itself: a router would add ~60 ms to every cold
start (measured with `python -X importtime`) and decide nothing.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from pydantic import ValidationError
from webhook_intake import Intake, IntakeSettings

from chatwoot_ai import aws
from chatwoot_ai.config import get_config_cache, is_config_changed_event
from chatwoot_ai.conversation.history import HistoryStore
from chatwoot_ai.errors import ApiError, from_validation_error
from chatwoot_ai.memo import per_settings
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import Settings


@per_settings
def get_intake(settings: Settings) -> Intake:
    return Intake(
        configs=get_config_cache(),
        sqs=aws.client("sqs"),
        queue_url=settings.conversations_queue_url,
        history=HistoryStore(aws.table(settings.history_table), settings.conversation_history_ttl_days),
        idempotency_table=settings.idempotency_table,
        dynamodb_client=aws.client("dynamodb"),
        settings=IntakeSettings(settings.webhook_max_body_bytes, settings.webhook_signature_tolerance_s,
                                settings.webhook_idempotency_ttl_s, settings.webhook_dedupe_delivery_id),
    )


def raw_body(event: dict[str, Any]) -> bytes:
    """The body exactly as sent: the signature covers these bytes, not a re-serialization."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8")


def response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps(body, ensure_ascii=False)}


def chatwoot_webhook(event: dict[str, Any]) -> dict[str, Any]:
    method = (event.get("requestContext") or {}).get("http", {}).get("method", "POST")
    if method != "POST":
        return response(405, ApiError(405, "method_not_allowed", "only POST is accepted").body())
    try:
        outcome = get_intake().handle(raw_body(event), dict(event.get("headers") or {}))
    except ApiError as exc:
        return response(exc.status, exc.body())
    except ValidationError as exc:
        err = from_validation_error(exc)
        return response(err.status, err.body())
    except Exception:
        # A 500 makes Chatwoot retry (it retries agent-bot webhooks on 429/500); the details stay in the log.
        logger.exception("webhook failed")
        return response(500, ApiError(500, "internal_error", "internal error; see the function logs").body())
    return response(outcome.status, outcome.body)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if is_config_changed_event(event):
        get_config_cache().handle_event(event)
        return {}
    get_intake().register_context(context)
    return chatwoot_webhook(event)
