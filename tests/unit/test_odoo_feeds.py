"""Which Odoo data feeds which collection (odoo.sources), how a webhook body becomes a vectorize request, how the
sync's marks move, and how the local runner plays a Schedule rule."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from chatwoot_ai.errors import ApiError
from chatwoot_ai.models import TenantConfig
from chatwoot_ai.odoo.sources import OdooFeeds, matches, odoo_feeds
from chatwoot_ai.vector.odoo_hook import hook_request
from chatwoot_ai.vector.odoo_records import html_text, product_record, variant_label
from chatwoot_ai.vector.odoo_sync import Marks

KNOWLEDGE = {"model": "knowledge.article", "text_field": "body", "domain": [["is_published", "=", True]]}


def feeds(**odoo: Any) -> OdooFeeds:
    config = TenantConfig.model_validate({"company": {"name": "Loja"}, "odoo": {
        "url": "https://erp.example.com", "db": "loja", "username": "bot", **odoo}})
    return odoo_feeds(config)


def test_defaults_fit_stock_odoo_and_a_bad_section_is_a_409_naming_it() -> None:
    default = odoo_feeds(None)
    assert default.sources.products.collection == "products" and default.sources.documents == []
    assert default.sync_interval_min is None and default.full_sync_every == 12
    with pytest.raises(ApiError) as bad:
        feeds(sources={"documents": [{"model": "Not A Model"}]})
    assert bad.value.status == 409 and bad.value.field is not None and bad.value.field.startswith("odoo.sources")
    with pytest.raises(ApiError):
        feeds(sync_interval_min=0)


def test_a_config_put_with_bad_odoo_sources_is_refused_whole() -> None:
    from chatwoot_ai.config.documents import validate_document

    good = {"company": {"name": "Loja"}, "odoo": {"url": "https://erp.example.com", "db": "loja", "username": "bot",
                                                  "sync_interval_min": 15, "sources": {"documents": [KNOWLEDGE]}}}
    assert validate_document("config", good, None) == good
    bad = {**good, "odoo": {**good["odoo"], "sources": {"products": {"domain": [["name", "~", "x"]]}}}}
    with pytest.raises(ApiError) as refused:
        validate_document("config", bad, None)
    assert refused.value.status == 422 and refused.value.field == "odoo.sources.products.domain"


def test_deletion_rules_match_the_action_name_without_accents_or_case() -> None:
    rules = feeds()
    assert rules.is_delete_action("Excluir produto do bot(#43)")
    assert rules.is_delete_action("Remoção do catálogo(#7)") and rules.is_delete_action("On Delete(#2)")
    assert not rules.is_delete_action("Atualizar produto no bot(#42)") and not rules.is_delete_action(None)
    assert feeds(webhook={"delete_actions": ["#99"]}).is_delete_action("Qualquer(#99)")


def test_a_template_body_stands_for_each_of_its_variants() -> None:
    body = {"_model": "product.template", "_id": 7, "_action": "Atualizar(#1)", "id": 7, "name": "Camiseta",
            "list_price": 49.9, "categ_id": 4, "currency_id": 6, "default_code": False, "active": True,
            "product_variant_ids": [31, 32]}
    request = hook_request("loja", body, feeds())
    assert [r.id for r in request.records] == ["31", "32"] and request.collection == "products"
    assert request.records[0].metadata == {"name": "Camiseta", "price": 49.9, "currency": "BRL",
                                           "odoo_model": "product.product", "template_id": 7}
    assert request.records[0].text == "Camiseta. Preço: R$ 49,90."
    archived = hook_request("loja", {**body, "active": False}, feeds())
    assert archived.records == [] and archived.delete_ids == ["31", "32"]
    unsold = hook_request("loja", {**body, "sale_ok": False}, feeds())
    assert unsold.delete_ids == ["31", "32"]


def test_a_document_source_maps_its_model_and_its_domain_filter_decides() -> None:
    rules = feeds(sources={"documents": [KNOWLEDGE]})
    body = {"_model": "knowledge.article", "_id": 5, "_action": "Artigo no bot(#3)", "id": 5,
            "name": "Política de trocas", "body": "<p>Trocas em até <b>7 dias</b>.</p><p>Com nota&nbsp;fiscal.</p>",
            "is_published": True}
    request = hook_request("loja", body, rules)
    assert request.collection == "support_documents"
    assert request.records[0].id == "odoo:knowledge.article:5"
    assert request.records[0].text == "Política de trocas\n\nTrocas em até 7 dias.\nCom nota fiscal."
    assert hook_request("loja", {**body, "is_published": False}, rules).delete_ids == ["odoo:knowledge.article:5"]
    with pytest.raises(ApiError) as missing:
        hook_request("loja", {k: v for k, v in body.items() if k != "body"}, rules)
    assert (missing.value.status, missing.value.field) == (422, "body")
    with pytest.raises(ApiError) as unknown:
        hook_request("loja", body, feeds())
    assert (unknown.value.code, unknown.value.field) == ("unknown_model", "_model")


def test_rows_of_both_read_formats_and_html_become_the_same_kind_of_record() -> None:
    row = {"id": 131, "name": "Camiseta", "display_name": "[CAM-M] Camiseta (M, Azul)", "default_code": "CAM-M",
           "lst_price": 59.9, "currency_id": [6, "BRL"], "categ_id": [4, "Vestuário"], "product_tmpl_id": [7, "x"],
           "is_storable": True, "qty_available": 3.0, "description_sale": False}
    record = product_record(row)
    assert record.text == "Camiseta. Variação: M, Azul. Categoria: Vestuário. Preço: R$ 59,90."
    assert record.metadata["variant"] == "M, Azul" and record.metadata["in_stock"] is True
    assert record.metadata["template_id"] == 7
    assert "qty_available" not in product_record({**row, "is_storable": False}).metadata
    assert variant_label({"name": "Sérum (30 ml)", "display_name": "Sérum (30 ml)"}) is None
    assert html_text("<h1>Título</h1><ul><li>um</li><li>dois &amp; três</li></ul>") == "Título\num\ndois & três"


def test_domain_leaves_compare_many2one_by_id_and_say_when_they_cannot_tell() -> None:
    assert matches({"categ_id": [4, "Rosto"]}, [["categ_id", "in", [4, 9]]]) is True
    assert matches({"categ_id": 8}, [["categ_id", "=", 4]]) is False
    assert matches({"name": "x"}, [["categ_id", "=", 4]]) is None


def test_marks_skip_rows_already_read_in_the_marks_own_second() -> None:
    marks = Marks({})
    assert marks.since("product.product") == []
    marks.advance("product.product", [{"id": 1, "write_date": "2026-11-01 09:00:00"},
                                      {"id": 2, "write_date": "2026-11-01 09:00:05"},
                                      {"id": 3, "write_date": "2026-11-01 09:00:05"}])
    assert marks.since("product.product") == ["|", ("write_date", ">", "2026-11-01 09:00:05"), "&",
                                              ("write_date", "=", "2026-11-01 09:00:05"), ("id", "not in", [2, 3])]
    marks.advance("product.product", [{"id": 4, "write_date": "2026-11-01 09:00:05"}])
    assert marks.ids["product.product"] == [2, 3, 4]
    marks.advance("product.product", [])  # nothing read: the mark stays
    marks.advance("product.product", [{"id": 5, "write_date": "2026-11-01 09:01:00"}])
    assert (marks.at["product.product"], marks.ids["product.product"]) == ("2026-11-01 09:01:00", [5])


# ---------------------------------------------------------------- the local runner's schedules
class _Function:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        return {}


class _Stack:
    name, region = "stack", "us-east-1"


def test_rate_expressions_and_the_event_eventbridge_delivers() -> None:
    from localcloud.schedules import rate_seconds, scheduled_event

    assert (rate_seconds("rate(5 minutes)"), rate_seconds("rate(1 hour)"), rate_seconds("rate(2 days)")) == (
        300.0, 3600.0, 172800.0)
    for bad in ("cron(0 12 * * ? *)", "rate(0 minutes)", "rate(5 weeks)", ""):
        with pytest.raises(ValueError):
            rate_seconds(bad)
    event = scheduled_event("stack-Fn-Every5Minutes", "us-east-1")
    assert (event["source"], event["detail-type"], event["detail"]) == ("aws.events", "Scheduled Event", {})
    assert event["resources"][0].endswith(":rule/stack-Fn-Every5Minutes")


def test_a_schedule_fires_every_period_until_the_stack_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    from localcloud.schedules import RATE_ENV, ScheduleSource

    monkeypatch.setenv(RATE_ENV, "0.2")
    function, stop = _Function(), threading.Event()
    source = ScheduleSource("Fn.Every5Minutes", function, _Stack(), stop,  # type: ignore[arg-type]
                            {"Schedule": "rate(5 minutes)"})
    source.start()
    deadline = time.monotonic() + 10
    while len(function.events) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    source.join(timeout=5)
    fired = len(function.events)
    assert fired >= 2 and not source.is_alive()
    time.sleep(0.5)
    assert len(function.events) == fired  # stopped with the stack
    assert function.events[0]["detail-type"] == "Scheduled Event"
