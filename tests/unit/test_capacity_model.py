"""The capacity model's arithmetic (bench/capacity_model.py): measured usage × bench/prices.yaml."""

from __future__ import annotations

import math
from typing import Any

import pytest

from bench import capacity_model as model


def _event(count: int, gb_s: float, rru: float, wru: float, http: int, llm: dict[str, float] | None = None,
           ) -> dict[str, Any]:
    function = {"invocations": count, "billed_ms": 100 * count, "gb_s": gb_s, "memory_mb": 1024,
                "calls": {"sqs.SendMessage": count}, "units": {"dynamodb_rru": rru, "dynamodb_wru": wru}}
    return {"count": count, "functions": {"WebhookReceiverFunction": function}, "http_requests": http,
            "llm": llm or {}}


@pytest.fixture
def measured() -> dict[str, Any]:
    return {"measured_at": "2026-11-30", "turns": 2, "vector_dims": [384, 512],
            "turn": _event(2, 2.0, 4.0, 6.0, 2, {"calls": 4, "prompt_tokens": 2000, "completion_tokens": 400}),
            "record": _event(10, 1.0, 0.0, 10.0, 1), "config_change": _event(1, 0.5, 1.0, 2.0, 1)}


def test_one_turn_is_priced_from_its_measured_units(measured: dict[str, Any]) -> None:
    prices = model.load_prices()
    cost = model.aws_cost(model.per_turn(measured, "turn"), prices)
    assert cost["Lambda"] == pytest.approx(1.0 * prices["lambda"]["gb_second"]
                                           + prices["lambda"]["per_million_requests"] / 1e6)
    ddb = prices["dynamodb_on_demand"]
    assert cost["DynamoDB"] == pytest.approx((2 * ddb["per_million_read_units"] + 3 * ddb["per_million_write_units"])
                                             / 1e6)
    rate = prices["llm"]["models"][prices["llm"]["model"]]
    assert model.llm_cost(model.per_turn(measured, "turn"), prices) == pytest.approx(
        (1000 * rate["input_per_million"] + 200 * rate["output_per_million"]) / 1e6)


def test_a_month_grows_with_tenants_and_keeps_the_llm_apart(measured: dict[str, Any]) -> None:
    prices = model.load_prices()
    one, hundred = model.monthly(measured, prices, 1), model.monthly(measured, prices, 100)
    assert hundred["llm"] == pytest.approx(100 * one["llm"])
    assert hundred["services"]["DynamoDB"] == pytest.approx(100 * one["services"]["DynamoDB"])
    assert hundred["aws"] < 100 * one["aws"]  # fixed costs (queue polling, the KMS key) are paid once
    assert hundred["total"] == pytest.approx(hundred["aws"] + hundred["llm"])
    s = prices["scenario"]
    assert one["turns"] == s["conversations_per_day_per_tenant"] * s["turns_per_conversation"] * 30


def test_limits_are_sorted_by_how_close_the_scale_is(measured: dict[str, Any]) -> None:
    prices = model.load_prices()
    rows = model.limits(measured, prices, 10_000)
    assert [r["utilisation"] for r in rows] == sorted((r["utilisation"] for r in rows), reverse=True)
    qdrant = next(r for r in rows if r["limit"].startswith("Qdrant"))
    q = prices["qdrant"]
    points = 10_000 * prices["scenario"]["records_per_tenant"] * q["chunks_per_record"]
    expected = points * ((384 + 512) * 4 * (1 + q["index_overhead"]) + q["payload_bytes_per_point"]) / 1e9
    assert math.isclose(qdrant["use"], round(expected, 4), rel_tol=1e-6)


def test_the_report_and_plots_render(measured: dict[str, Any]) -> None:
    prices = model.load_prices()
    report = model.render(measured, prices)
    assert "1,000 conversations" in report and "first limit met" in report
    assert model.plot_cost_vs_tenants(measured, prices).startswith("<svg")
    assert "LLM" in model.plot_share_by_service(measured, prices)
