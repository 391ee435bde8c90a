"""A bot turn's trace: what it records, what a tenant's key may see of it, and its Powertools metrics (EMF)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from chatwoot_ai.conversation.crew import CrewPlan, CrewResult
from chatwoot_ai.conversation.economy import LlmCall, TurnUsage
from chatwoot_ai.conversation.handoff import HandoffDecision
from chatwoot_ai.conversation.history import reply_bucket
from chatwoot_ai.conversation.insights import histogram_percentile
from chatwoot_ai.conversation.retrieval import Hit
from chatwoot_ai.conversation.trace import build_trace, emit_turn_metrics, public_trace
from chatwoot_ai.models import TenantConfig


def _answered() -> dict[str, object]:
    usage = TurnUsage(calls=[LlmCall("response", "openai/stub", 1, 900, 60, 0.4)])
    hits = {"products": [Hit("products", "p1", 0.91, "Protetor solar FPS 50, R$ 59,90.", {})],
            "business_rules": [Hit("business_rules", "r9", 0.7, "Margem mínima: 30% sobre o custo.",
                                   {"visibility": "internal"})],
            "support_documents": []}
    result = CrewResult("Temos sim! R$ 59,90.", usage=usage, hits=hits, steps=["search:products=1", "response"],
                        elapsed_s=0.45)
    plan = CrewPlan("whatsapp", {}, ["business_rules", "support_documents", "products"], True)
    return build_trace(channel="whatsapp", messages=["Vocês têm protetor solar?"], plan=plan, result=result,
                       decision=None, reply_ms=1800)


def test_an_answered_turn_records_its_plan_sources_and_calls() -> None:
    trace = _answered()
    assert trace["outcome"] == "answered" and trace["handoff"] is None and trace["reply_ms"] == 1800
    plan = trace["plan"]
    assert plan["agents_ran"] == ["response"]
    assert plan["skipped"]["odoo"] == "not in this channel's crew or not enabled"
    assert plan["skipped"]["support_documents"] == "nothing relevant found"
    assert {s["id"]: s["visibility"] for s in trace["sources"]} == {"p1": "public", "r9": "internal"}
    assert trace["llm"]["llm_calls"] == 1 and trace["llm"]["tokens"] == 960
    assert trace["llm"]["calls"][0]["latency_ms"] == 400 and trace["crew_ms"] == 450
    assert json.loads(json.dumps(trace)) == trace  # JSON as it is stored


def test_a_tenant_key_sees_internal_sources_as_ids_only() -> None:
    trace = _answered()
    shown = public_trace(trace, redact_internal=True)
    assert shown is not None
    internal = next(s for s in shown["sources"] if s["id"] == "r9")
    assert "excerpt" not in internal and internal["collection"] == "business_rules" and internal["score"] == 0.7
    assert "30%" not in json.dumps(shown, ensure_ascii=False)
    assert next(s for s in shown["sources"] if s["id"] == "p1")["excerpt"].startswith("Protetor solar")
    assert "30%" in json.dumps(trace, ensure_ascii=False)  # the stored trace is untouched; the admin sees it all
    assert public_trace(trace, redact_internal=False) == trace
    assert public_trace(None, redact_internal=True) is None


def test_a_handoff_without_a_crew_says_why() -> None:
    trace = build_trace(channel="instagram", messages=["quero um atendente"], plan=None, result=None,
                        decision=HandoffDecision("customer_request", "the customer wrote 'atendente'"), reply_ms=90)
    assert trace["outcome"] == "handoff" and trace["handoff"]["reason"] == "customer_request"
    assert trace["plan"]["specialists"] == [] and trace["llm"]["llm_calls"] == 0 and trace["sources"] == []


def test_turn_metrics_go_out_as_emf(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    emit_turn_metrics(build_trace(channel="whatsapp", messages=["x"], plan=None, result=None,
                                  decision=HandoffDecision("no_answer"), reply_ms=1200), "loja_azul")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(lines) == 2
    turn, handoff = lines
    assert turn["Turns"] == [1.0] and turn["TimeToReply"] == [1200.0] and "Reason" not in turn
    assert turn["tenant_id"] == handoff["tenant_id"] == "loja_azul"  # metadata, not a dimension
    emf = turn["_aws"]["CloudWatchMetrics"][0]
    assert emf["Namespace"] == "ChatwootAI" and {m["Name"] for m in emf["Metrics"]} == {"Turns", "TimeToReply"}
    assert handoff["TurnsHandedOff"] == [1.0] and handoff["Reason"] == "no_answer"
    assert handoff["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Reason", "service"]]
    emit_turn_metrics(_answered(), "loja_azul")
    answered = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(answered) == 1 and "TurnsAnswered" in answered[0] and "Reason" not in answered[0]


def test_times_to_reply_go_into_buckets_and_percentiles_come_out_of_them() -> None:
    assert [reply_bucket(ms) for ms in (0, 1, 100, 101, 9_999, 10_001, 59_001, 61_000)] == [
        0, 100, 100, 200, 10_000, 11_000, 60_000, 70_000]
    assert histogram_percentile({}, 50) is None
    times = [120, 180, 950, 2_300, 2_350, 2_390, 4_000, 12_400, 31_000, 75_000]
    histogram: dict[int, int] = {}
    for ms in times:
        histogram[reply_bucket(ms)] = histogram.get(reply_bucket(ms), 0) + 1
    assert histogram_percentile(histogram, 50) == 2_400  # the 5th of 10 (2 350 ms), to its bucket's bound
    assert histogram_percentile(histogram, 95) == 80_000  # the 10th (75 s)
    assert histogram_percentile({700: 1}, 95) == 700


def test_the_trace_ttl_is_a_tenant_setting_with_bounds() -> None:
    assert TenantConfig.model_validate({"company": {"name": "Loja"}}).insights.trace_ttl_days == 30
    assert TenantConfig.model_validate({"company": {"name": "Loja"},
                                        "insights": {"trace_ttl_days": 90}}).insights.trace_ttl_days == 90
    for wrong in (0, 401, "muito"):
        with pytest.raises(ValidationError):
            TenantConfig.model_validate({"company": {"name": "Loja"}, "insights": {"trace_ttl_days": wrong}})
