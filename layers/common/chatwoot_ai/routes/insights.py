"""The business owner's view (docs/conversation.md "Traces", docs/viewer.md): a tenant's conversations with each bot
turn's trace, a playground that runs the tenant's real crew, and the numbers per day.

Routes: GET /conversations/{tenant_id}, GET /conversations/{tenant_id}/{account_id}/{conversation_id},
POST /playground/{tenant_id}, GET /metrics/{tenant_id}. Served by InsightsApiFunction, the conversation worker's
image (the playground imports crewai and the encoders as the worker does).

The playground writes nothing: no history, no day usage, no Chatwoot call (it builds no Chatwoot client at all); the
crew's Odoo tools are the read-only ones the worker's crew has. It reads the tenant's day budget, so a spent budget
shows in the playground as in a conversation; its own calls are not added to the day.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from chatwoot_ai import aws
from chatwoot_ai.access import require_tenant_access
from chatwoot_ai.api import json_response, parse_body
from chatwoot_ai.config import get_config_cache
from chatwoot_ai.config.tenants import resolve_domain
from chatwoot_ai.conversation.crew import CrewFactory, Turn, crews_from_settings
from chatwoot_ai.conversation.history import HistoryStore
from chatwoot_ai.conversation.insights import InsightsReader
from chatwoot_ai.conversation.pipeline import decide_turn, handoff_message, turn_budget
from chatwoot_ai.conversation.queue_job import MAX_CONTENT_CHARS
from chatwoot_ai.conversation.trace import build_trace, public_trace
from chatwoot_ai.errors import ApiError, not_found
from chatwoot_ai.memo import per_settings
from chatwoot_ai.models import check_identifier
from chatwoot_ai.settings import Settings, get_settings

router = APIGatewayHttpRouter()
MAX_DAYS = 90


@per_settings
def insights_reader(settings: Settings) -> InsightsReader:
    return InsightsReader(aws.table(settings.resources.history_table))


@per_settings
def playground_crews(settings: Settings) -> CrewFactory:
    return crews_from_settings(settings)


# ---------------------------------------------------------------- who is calling
def _authorize(app: BaseRouter, tenant_id: str) -> bool:
    """The one gate of these routes: 401/403 unless the caller (the admin key or the tenant's own key) may read
    `tenant_id`'s conversations. Returns `redact_internal`: True for anyone but the admin (a tenant's key sees
    internal sources as ids only)."""
    return not require_tenant_access(app.current_event.headers, tenant_id).is_admin


def _tenant(tenant_id: str) -> str:
    try:
        return check_identifier(tenant_id, "tenant_id")
    except ValueError as exc:
        raise ApiError(422, "validation_error", str(exc), "tenant_id") from exc


def _int_param(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(422, "validation_error", f"{name} must be an integer", name) from exc
    if not low <= value <= high:
        raise ApiError(422, "validation_error", f"{name} must be between {low} and {high}", name)
    return value


def _since_ms(raw: str | None) -> int:
    """`since`: an ISO date or date-time (UTC when it names no offset)."""
    if not raw:
        return 0
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(422, "validation_error", "since must be an ISO date or date-time", "since") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, int(moment.timestamp() * 1000))


def _params() -> dict[str, str]:
    return dict(router.current_event.query_string_parameters or {})


# ---------------------------------------------------------------- conversations
@router.get("/conversations/<tenant_id>")
def list_conversations(tenant_id: str) -> Response:
    tenant_id = _tenant(tenant_id)
    _authorize(router, tenant_id)
    params = _params()
    status = params.get("status") or None
    if status not in (None, "bot", "human"):
        raise ApiError(422, "validation_error", "status is bot or human", "status")
    body = insights_reader().conversations(tenant_id, _int_param(params, "limit", 20, 1, 100), status,
                                           _since_ms(params.get("since")), params.get("cursor") or None)
    return json_response(200, body)


@router.get("/conversations/<tenant_id>/<account_id>/<conversation_id>")
def get_conversation(tenant_id: str, account_id: str, conversation_id: str) -> Response:
    tenant_id = _tenant(tenant_id)
    redact = _authorize(router, tenant_id)
    ids = {}
    for name, raw in (("account_id", account_id), ("conversation_id", conversation_id)):
        if not raw.isdigit() or len(raw) > 18:
            raise ApiError(422, "validation_error", f"{name} must be a positive integer", name)
        ids[name] = int(raw)
    return json_response(200, insights_reader().conversation(tenant_id, ids["account_id"], ids["conversation_id"],
                                                             redact_internal=redact))


# ---------------------------------------------------------------- playground
class PastTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["customer", "assistant"]
    content: str = Field(max_length=MAX_CONTENT_CHARS)


class PlaygroundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    messages: list[str] = Field(min_length=1, max_length=20)
    channel: Literal["whatsapp", "instagram", "web_widget", "email", "api"] = "whatsapp"
    history: list[PastTurn] = Field(default_factory=list, max_length=50)
    domain: str | None = Field(default=None, max_length=64)
    identified: bool = True  # the contact gave an e-mail or phone (an anonymous web visitor: false)
    customer_name: str | None = Field(default=None, max_length=200)


@router.post("/playground/<tenant_id>")
def playground(tenant_id: str) -> Response:
    tenant_id = _tenant(tenant_id)
    redact = _authorize(router, tenant_id)
    request = parse_body(router, PlaygroundRequest)
    messages = [m.strip()[:MAX_CONTENT_CHARS] for m in request.messages if m.strip()]
    if not messages:
        raise ApiError(422, "validation_error", "messages must hold some text", "messages")
    domain = resolve_domain(tenant_id, request.domain, "domain")
    cache = get_config_cache()
    config = cache.config(tenant_id, domain)
    if config is None:
        raise not_found(f"no config for tenant {tenant_id} (domain {domain})", "tenant_id")
    credentials = cache.credentials(tenant_id, domain)
    api_key = credentials.llm_api_key.get_secret_value() if credentials and credentials.llm_api_key else None
    settings = get_settings()
    history: list[tuple[str, str]] = [(t.role, t.content) for t in request.history]
    history = history[-settings.conversation.history_turns:]
    turn = Turn(messages=messages, history=history, customer_name=request.customer_name)
    reader = HistoryStore(insights_reader().table)  # the day's budget is read, never written
    started = time.perf_counter()
    outcome = decide_turn(playground_crews(), config, tenant_id, domain, request.channel, request.identified, turn,
                          api_key, turn_budget(config, tenant_id, reader.day_usage))
    handoff: dict[str, Any] | None = None
    decision = outcome.decision
    if decision is not None:
        message, decision = handoff_message(config, decision, datetime.now(UTC))
        handoff = {"reason": decision.reason, "detail": decision.detail, "message": message}
    trace = build_trace(channel=request.channel, messages=messages, plan=outcome.plan, result=outcome.result,
                        decision=decision, reply_ms=round((time.perf_counter() - started) * 1000))
    return json_response(200, {"answer": "\n\n".join(outcome.parts) if outcome.parts else None,
                               "messages": outcome.parts, "handoff": handoff,
                               "trace": public_trace(trace, redact)})


# ---------------------------------------------------------------- metrics
@router.get("/metrics/<tenant_id>")
def tenant_metrics(tenant_id: str) -> Response:
    tenant_id = _tenant(tenant_id)
    _authorize(router, tenant_id)
    days = _int_param(_params(), "days", 7, 1, MAX_DAYS)
    cache = get_config_cache()
    config = None
    for domain in cache.domains(tenant_id) or []:
        config = cache.config(tenant_id, domain)
        if config is not None:
            break
    timezone = config.company.timezone if config is not None else "UTC"
    return json_response(200, insights_reader().metrics(tenant_id, days, timezone))
