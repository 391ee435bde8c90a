"""The trace of one bot turn: why the assistant answered what it did, or why it handed off (docs/conversation.md,
"Traces").

A trace is built from what the turn already knows (the crew's plan and result, the handoff decision, the LLM calls
counted by economy.TurnUsage) and stored with the conversation history (HistoryStore.add_trace), with the tenant's
own TTL (`config.insights.trace_ttl_days`). It holds no secret: no credential, no prompt. Retrieval sources keep a
short excerpt of their text; an `internal` record's excerpt is for the admin only: `public_trace(trace,
redact_internal=True)` leaves its id, collection and score and drops the text.
"""

from __future__ import annotations

import copy
from typing import Any

from chatwoot_ai.conversation.crew import SPECIALISTS, CrewPlan, CrewResult
from chatwoot_ai.conversation.economy import TurnUsage
from chatwoot_ai.conversation.handoff import HandoffDecision
from chatwoot_ai.conversation.retrieval import Hit, is_internal
from chatwoot_ai.observability import logger

EXCERPT_CHARS = 240  # of each source's text: enough to recognise it, small enough for a DynamoDB item


def source_of(hit: Hit) -> dict[str, Any]:
    return {"collection": hit.collection, "id": hit.id, "score": round(hit.score, 4),
            "visibility": "internal" if is_internal(hit) else "public", "excerpt": hit.text.strip()[:EXCERPT_CHARS]}


def build_trace(*, channel: str, messages: list[str], plan: CrewPlan | None, result: CrewResult | None,
                decision: HandoffDecision | None, attachments: list[str] | None = None,
                unreadable: list[str] | None = None, reply_ms: int | None = None) -> dict[str, Any]:
    """The trace as stored: JSON-ready, every number an int or a float. `decision` None means the turn was answered;
    `plan` None means no crew ran (a keyword asked for a human; an unreadable attachment)."""
    planned = list(plan.specialists) if plan is not None else []
    steps = list(result.steps) if result is not None else []
    usage: dict[str, Any] = (result.usage if result is not None else TurnUsage()).summary()
    hits = result.hits if result is not None else {}
    ran = sorted({c["agent"] for c in usage["calls"]})
    skipped = {name: ("not in this channel's crew or not enabled" if name not in planned else
                      "nothing relevant found" if name in hits and not hits[name] else "not needed this turn")
               for name in SPECIALISTS if name not in ran and (name not in planned or name not in hits or
                                                               not hits[name])}
    trace: dict[str, Any] = {
        "outcome": "handoff" if decision is not None else "answered",
        "channel": channel,
        "messages": len(messages),
        "plan": {"specialists": planned, "agents_ran": ran, "skipped": skipped, "steps": steps,
                 "llm": bool(plan.use_llm) if plan is not None else False},
        "sources": [source_of(h) for found in hits.values() for h in found],
        "intention": _intention(result, ran),
        "llm": usage,
        "handoff": {"reason": decision.reason, "detail": decision.detail} if decision is not None else None,
        "crew_ms": round(result.elapsed_s * 1000) if result is not None else 0,
        "reply_ms": reply_ms,
        "attachments": {"kinds": list(attachments or []), "unreadable": list(unreadable or [])},
    }
    return trace


def _intention(result: CrewResult | None, ran: list[str]) -> dict[str, Any] | None:
    """What the intention agent said; small talk is recognised without it. None when neither happened."""
    if result is None or ("intention" not in ran and result.intent == "other"):
        return None
    return {"intent": result.intent, "language": result.language, "confidence": result.confidence}


def public_trace(trace: dict[str, Any] | None, redact_internal: bool) -> dict[str, Any] | None:
    """The trace as a caller sees it: for anyone but the admin (`redact_internal`), internal sources show as ids."""
    if trace is None or not redact_internal:
        return trace
    out = copy.deepcopy(trace)
    for source in out.get("sources") or []:
        if source.get("visibility") == "internal":
            source.pop("excerpt", None)
    return out


def emit_turn_metrics(trace: dict[str, Any], tenant_id: str) -> None:
    """The turn as Powertools metrics (EMF in the logs, CloudWatch metrics when deployed): Turns, TurnsAnswered,
    TurnsHandedOff (with a `Reason` dimension) and TimeToReply; the LLM calls and tokens go out with
    economy.emit_metrics. The tenant goes as metadata (searchable in the logs, not a dimension: one metric per tenant
would cost per tenant). Never costs a reply."""
    try:
        from aws_lambda_powertools.metrics import MetricUnit

        from chatwoot_ai.observability import metrics

        m = metrics()
        m.clear_metrics()
        m.add_metric(name="Turns", unit=MetricUnit.Count, value=1)
        if trace["outcome"] == "answered":
            m.add_metric(name="TurnsAnswered", unit=MetricUnit.Count, value=1)
        if trace.get("reply_ms") is not None:
            m.add_metric(name="TimeToReply", unit=MetricUnit.Milliseconds, value=int(trace["reply_ms"]))
        m.add_metadata(key="tenant_id", value=tenant_id)
        m.flush_metrics()
        if trace["outcome"] == "handoff":
            m.add_dimension(name="Reason", value=str((trace.get("handoff") or {}).get("reason") or "unknown"))
            m.add_metric(name="TurnsHandedOff", unit=MetricUnit.Count, value=1)
            m.add_metadata(key="tenant_id", value=tenant_id)
            m.flush_metrics()
            m.clear_metrics()  # a disabled Metrics (POWERTOOLS_METRICS_DISABLED) flushes without clearing
    except Exception:
        logger.warning("could not emit turn metrics", exc_info=True)
