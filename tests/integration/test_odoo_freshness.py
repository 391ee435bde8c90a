"""Odoo data that stays fresh with nothing installed in Odoo, on the local stack against the Odoo double:

- Odoo's own "Send Webhook Notification" bodies (tests/fixtures/odoo: `_model`, `_id`, `_action` + the record read
  with load=None) posted to the tenant's secret URL: create, price change, archive, deletion rule, repeats, bad bodies,
  wrong and rotated tokens, and a token that can only ever write into its own tenant;
- the scheduled incremental sync (the schedule's function, then `POST /vectorize/sync {"incremental": true}`): a
  price change and an archive are read alone, unchanged products are not read again, and the full pass removes a
  deleted product.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.tenants import wait_job

from devtools.doubles.odoo import PRODUCT_ID_OFFSET, OdooDouble

pytestmark = pytest.mark.slow
HTTP = httpx.Client(timeout=60.0)  # cold starts share two cores with everything else here

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "odoo"
HOOK_FIELDS = ["name", "description_sale", "list_price", "default_code", "categ_id", "currency_id", "active",
               "sale_ok", "product_variant_ids", "write_date"]


def fixture_body(name: str) -> bytes:
    """A fixture as Odoo sends it: json.dumps(vals, sort_keys=True, default=str)."""
    return json.dumps(json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8")), sort_keys=True).encode()


@pytest.fixture
def odoo() -> Iterator[OdooDouble]:
    with OdooDouble() as double:
        yield double


def _put(cloud: Any, path: str, body: dict[str, Any], headers: dict[str, str]) -> None:
    response = HTTP.put(cloud.url + path, json=body, headers=headers, timeout=60)
    assert response.status_code in (200, 201), response.text


def _tenant(cloud: Any, tenant_id: str, admin_headers: dict[str, str], odoo: OdooDouble | None = None,
            **odoo_extra: Any) -> dict[str, Any]:
    token = secrets.token_urlsafe(24)
    config: dict[str, Any] = {"company": {"name": "Sandra Cosméticos"}}
    credentials = {"vectorize_token": token}
    if odoo is not None:
        config["odoo"] = {"url": odoo.url, "db": odoo.db, "username": odoo.username, **odoo_extra}
        credentials["odoo_api_key"] = odoo.api_key
    _put(cloud, f"/configs/{tenant_id}/default/config", config, admin_headers)
    _put(cloud, f"/configs/{tenant_id}/default/credentials", credentials, admin_headers)
    hook = HTTP.post(f"{cloud.url}/configs/{tenant_id}/odoo-hook-token", headers=admin_headers, timeout=60)
    assert hook.status_code == 201, hook.text
    return {"id": tenant_id, "headers": {"Authorization": f"Bearer {token}"}, "hook": hook.json()}


def _hook(cloud: Any, tenant: dict[str, Any], body: bytes, path: str | None = None) -> httpx.Response:
    return HTTP.post(cloud.url + (path or tenant["hook"]["path"]), content=body,
                      headers={"Content-Type": "application/json"}, timeout=30)


def _hooked(cloud: Any, tenant: dict[str, Any], body: bytes) -> dict[str, Any]:
    response = _hook(cloud, tenant, body)
    assert response.status_code == 202, response.text
    return wait_job(cloud, response.json()["job_id"], tenant["headers"])


def _hits(cloud: Any, tenant: dict[str, Any], query: str) -> list[dict[str, Any]]:
    response = HTTP.post(cloud.url + "/search", headers=tenant["headers"], timeout=60, json={
        "tenant_id": tenant["id"], "collection": "products", "query": query, "limit": 5,
        "include_below_threshold": True})
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def _ids(hits: list[dict[str, Any]]) -> set[str]:
    return {h["id"] for h in hits}


# ---------------------------------------------------------------- the webhook
def test_the_local_runner_serves_the_webhook_and_plays_the_schedule(cloud: Any) -> None:
    health = HTTP.get(cloud.url + "/health").json()
    assert "POST /vectorize/odoo/{token}" in health["routes"]
    assert "OdooSyncScheduleFunction.Every5Minutes" in health["event_sources"]
    assert HTTP.post(cloud.url + "/vectorize/odoo/oh_not-a-token", json={}).status_code == 401


def test_odoo_webhook_bodies_create_update_archive_and_delete(cloud: Any, tenant_id: str,
                                                              admin_headers: dict[str, str]) -> None:
    tenant = _tenant(cloud, tenant_id, admin_headers)
    assert tenant["hook"]["token"].startswith("oh_") and tenant["hook"]["path"].endswith(tenant["hook"]["token"])
    status = HTTP.get(f"{cloud.url}/configs/{tenant_id}/odoo-hook-token", headers=admin_headers).json()
    assert tenant["hook"]["token"] not in json.dumps(status) and status["hint"] == tenant["hook"]["hint"]

    serum = str(7 + PRODUCT_ID_OFFSET)  # template 7's only variant
    job = _hooked(cloud, tenant, fixture_body("webhook_product_template_create"))
    assert (job["status"], job["kind"], job["processed"]) == ("done", "odoo_webhook", 1)
    hit = next(h for h in _hits(cloud, tenant, "serum de vitamina c") if h["id"] == serum)
    assert hit["metadata"]["price"] == 129.9 and hit["metadata"]["sku"] == "SER-VIT-001"
    assert hit["metadata"]["template_id"] == 7 and "R$ 129,90" in hit["text"]

    again = _hooked(cloud, tenant, fixture_body("webhook_product_template_create"))  # Odoo sent it twice
    assert (again["processed"], again["skipped"]) == (1, 1)

    _hooked(cloud, tenant, fixture_body("webhook_product_template_write_price"))
    hit = next(h for h in _hits(cloud, tenant, "serum de vitamina c") if h["id"] == serum)
    assert hit["metadata"]["price"] == 79.9 and "R$ 79,90" in hit["text"]

    variant = _hooked(cloud, tenant, fixture_body("webhook_product_product_write"))
    assert variant["processed"] == 1
    assert str(9 + PRODUCT_ID_OFFSET) in _ids(_hits(cloud, tenant, "serum retinol"))

    archived = _hooked(cloud, tenant, fixture_body("webhook_product_template_archive"))
    assert archived["deleted"] == 1
    assert serum not in _ids(_hits(cloud, tenant, "serum de vitamina c"))

    # The deletion rule ("Excluir ..." in the action's name): the body is an update's, the record goes.
    _hooked(cloud, tenant, json.dumps({**json.loads(fixture_body("webhook_product_template_create")),
                                       "_action": "Excluir produto do bot(#43)"}, sort_keys=True).encode())
    _hooked(cloud, tenant, fixture_body("webhook_product_product_write"))
    deleted = _hooked(cloud, tenant, json.dumps({**json.loads(fixture_body("webhook_product_product_write")),
                                                 "_action": "Excluir variante do bot(#45)"}, sort_keys=True).encode())
    assert deleted["deleted"] == 1
    assert str(9 + PRODUCT_ID_OFFSET) not in _ids(_hits(cloud, tenant, "serum retinol"))


def test_odoo_webhook_bad_bodies_are_clear_4xx_and_queue_nothing(cloud: Any, tenant_id: str,
                                                                 admin_headers: dict[str, str]) -> None:
    tenant = _tenant(cloud, tenant_id, admin_headers)
    create = json.loads(fixture_body("webhook_product_template_create"))
    cases = [
        (b"", 400, "body"),  # the one body reader of every API (issue 16) names the body
        (b"nao e json", 400, "body"),
        (b"[1, 2]", 400, "body"),
        (json.dumps({"name": "sem _model"}).encode(), 422, "_model"),
        (json.dumps({**create, "_id": "7"}).encode(), 422, "_id"),
        (json.dumps({**create, "_model": "res.partner"}).encode(), 422, "_model"),
        (json.dumps({k: v for k, v in create.items() if k != "product_variant_ids"}).encode(), 422,
         "product_variant_ids"),
        (json.dumps({k: v for k, v in create.items() if k != "name"}).encode(), 422, "name"),
    ]
    for body, status, field in cases:
        response = _hook(cloud, tenant, body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"].get("field") == field, response.text
    jobs = HTTP.get(f"{cloud.url}/vectorize/jobs", params={"tenant_id": tenant_id}, headers=tenant["headers"])
    assert jobs.json()["jobs"] == []


def test_odoo_webhook_tokens_wrong_rotated_and_foreign(cloud: Any, admin_headers: dict[str, str]) -> None:
    a = _tenant(cloud, "t_hook_a_" + secrets.token_hex(4), admin_headers)
    b = _tenant(cloud, "t_hook_b_" + secrets.token_hex(4), admin_headers)
    body = fixture_body("webhook_product_template_create")

    wrong = _hook(cloud, a, body, "/vectorize/odoo/oh_" + secrets.token_urlsafe(32))
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"

    # A's URL writes into A, whatever the body claims.
    response = _hook(cloud, a, json.dumps({**json.loads(body), "tenant_id": b["id"]}, sort_keys=True).encode())
    assert response.status_code == 202 and response.json()["tenant_id"] == a["id"]
    wait_job(cloud, response.json()["job_id"], a["headers"])
    assert _ids(_hits(cloud, a, "serum de vitamina c")) and not _hits(cloud, b, "serum de vitamina c")

    rotated = HTTP.post(f"{cloud.url}/configs/{a['id']}/odoo-hook-token", headers=admin_headers).json()
    assert rotated["rotated"] is True and rotated["token"] != a["hook"]["token"]
    assert _hook(cloud, a, body).status_code == 401  # the old URL stops at once
    assert _hook(cloud, a, body, rotated["path"]).status_code == 202

    assert HTTP.delete(f"{cloud.url}/configs/{a['id']}/odoo-hook-token", headers=admin_headers).status_code == 200
    assert _hook(cloud, a, body, rotated["path"]).status_code == 401
    assert HTTP.post(f"{cloud.url}/configs/{a['id']}/odoo-hook-token").status_code == 401  # admin only
    unknown = HTTP.post(f"{cloud.url}/configs/t_nobody_{secrets.token_hex(3)}/odoo-hook-token",
                         headers=admin_headers)
    assert unknown.status_code == 404


# ---------------------------------------------------------------- the scheduled incremental sync
def _sync_now(cloud: Any, tenant: dict[str, Any]) -> dict[str, Any]:
    response = HTTP.post(cloud.url + "/vectorize/sync", json={"tenant_id": tenant["id"], "incremental": True},
                          headers=tenant["headers"], timeout=60)
    assert response.status_code == 202, response.text
    return wait_job(cloud, response.json()["job_id"], tenant["headers"])


def _state(cloud: Any, tenant: dict[str, Any]) -> dict[str, Any]:
    response = HTTP.get(f"{cloud.url}/vectorize/jobs", params={"tenant_id": tenant["id"]}, headers=tenant["headers"],
                         timeout=60)
    assert response.status_code == 200, response.text
    return dict(response.json()["odoo_sync"])


def test_scheduled_sync_reads_only_changes_and_the_full_pass_removes_deletions(
        cloud: Any, tenant_id: str, admin_headers: dict[str, str], odoo: OdooDouble) -> None:
    from localcloud.schedules import scheduled_event

    tenant = _tenant(cloud, tenant_id, admin_headers, odoo, sync_interval_min=5, full_sync_every=2)
    sellable = len([p for p in odoo.records["product.product"].values() if p["sale_ok"] and p["active"]])

    # The schedule fires: this tenant is due (never synced), its first run is the full one.
    started = cloud.function("OdooSyncScheduleFunction").invoke(scheduled_event("test", "us-east-1"))
    mine = [run for run in started["started"] if run["tenant_id"] == tenant_id]
    assert len(mine) == 1 and mine[0]["full"] is True
    first = wait_job(cloud, mine[0]["job_id"], tenant["headers"])
    assert (first["status"], first["kind"], first["processed"]) == ("done", "odoo_sync", sellable)
    state = _state(cloud, tenant)
    assert state["last_read"]["product.product"] == sellable and state["runs"] == 1 and state["last_full"] is True
    assert state["sync_interval_min"] == 5 and state["last_sync_at"]
    again = cloud.function("OdooSyncScheduleFunction").invoke(scheduled_event("test", "us-east-1"))
    assert not [run for run in again["started"] if run["tenant_id"] == tenant_id]  # not due for 5 minutes

    # In Odoo: a price change (on the template), an archive, a deletion.
    sunscreen, toner, cleanser = 11, 2, 1
    odoo.write("product.template", sunscreen, {"list_price": 59.9})
    odoo.write("product.product", toner + PRODUCT_ID_OFFSET, {"active": False})
    odoo.unlink("product.template", cleanser)

    second = _sync_now(cloud, tenant)
    state = _state(cloud, tenant)
    assert state["last_full"] is False
    assert state["last_read"]["product.product"] == 2  # the repriced variant and the archived one, of `sellable`
    assert (second["processed"], second["deleted"]) == (1, 1)
    hit = next(h for h in _hits(cloud, tenant, "protetor solar com cor") if h["id"] == str(sunscreen + 100))
    assert hit["metadata"]["price"] == 59.9
    assert str(toner + PRODUCT_ID_OFFSET) not in _ids(_hits(cloud, tenant, "espuma de limpeza pele sensivel"))
    assert str(cleanser + PRODUCT_ID_OFFSET) in _ids(_hits(cloud, tenant, "gel de limpeza facial"))  # not seen yet

    third = _sync_now(cloud, tenant)  # every 2nd run is full: the deletion is found by comparing ids
    assert _state(cloud, tenant)["last_full"] is True
    assert third["deleted"] == 1 and third["skipped"] == sellable - 2
    assert str(cleanser + PRODUCT_ID_OFFSET) not in _ids(_hits(cloud, tenant, "gel de limpeza facial"))


def test_incremental_sync_of_a_tenant_without_odoo_is_a_clear_409(cloud: Any, tenant_id: str,
                                                                  admin_headers: dict[str, str]) -> None:
    tenant = _tenant(cloud, tenant_id, admin_headers)
    response = HTTP.post(cloud.url + "/vectorize/sync", json={"tenant_id": tenant_id, "incremental": True},
                          headers=tenant["headers"])
    assert response.status_code == 409 and response.json()["error"]["field"] == "odoo"


def _doc_ids(cloud: Any, tenant: dict[str, Any], query: str) -> set[str]:
    response = HTTP.post(cloud.url + "/search", headers=tenant["headers"], timeout=60, json={
        "tenant_id": tenant["id"], "collection": "support_documents", "query": query, "limit": 10,
        "include_below_threshold": True})
    assert response.status_code == 200, response.text
    return {h["id"] for h in response.json()["results"]}


def test_a_knowledge_model_feeds_support_documents_by_webhook_and_by_schedule(
        cloud: Any, tenant_id: str, admin_headers: dict[str, str], odoo: OdooDouble) -> None:
    source = {"model": "knowledge.article", "text_field": "body", "domain": [["is_published", "=", True]]}
    tenant = _tenant(cloud, tenant_id, admin_headers, odoo, sync_interval_min=5, full_sync_every=2,
                     sources={"products": {"enabled": False}, "documents": [source]})
    articles = len(odoo.records["knowledge.article"])

    first = _sync_now(cloud, tenant)
    assert (first["status"], first["processed"]) == ("done", articles)
    assert "odoo:knowledge.article:1" in _doc_ids(cloud, tenant, "devolução de produtos")
    assert "product.product" not in _state(cloud, tenant)["last_read"]  # products turned off

    odoo.write("knowledge.article", 1, {"is_published": False})  # unpublished: leaves the domain filter
    odoo.write("knowledge.article", 2, {"body": "<p>Frete grátis para todo o Brasil acima de R$ 150,00.</p>"})
    second = _sync_now(cloud, tenant)
    assert _state(cloud, tenant)["last_read"] == {"knowledge.article": 2}
    assert (second["processed"], second["deleted"]) == (1, 1)
    assert "odoo:knowledge.article:1" not in _doc_ids(cloud, tenant, "devolução de produtos")
    assert "odoo:knowledge.article:2" in _doc_ids(cloud, tenant, "frete grátis acima de 150 reais")

    fields = ["name", "body", "is_published", "active"]
    odoo.write("knowledge.article", 1, {"is_published": True})
    published = _hooked(cloud, tenant, odoo.webhook_payload("knowledge.article", 1, fields, "Artigo no bot"))
    assert published["processed"] == 1
    assert "odoo:knowledge.article:1" in _doc_ids(cloud, tenant, "devolução de produtos")
    gone = _hooked(cloud, tenant, odoo.webhook_payload("knowledge.article", 1, fields, "Excluir artigo do bot"))
    assert gone["deleted"] == 1
    assert _hook(cloud, tenant, odoo.webhook_payload("product.template", 7, HOOK_FIELDS)).status_code == 422


def test_jobs_of_a_tenant_with_several_domains_still_list(cloud: Any, tenant_id: str,
                                                          admin_headers: dict[str, str]) -> None:
    odoo = {"url": "https://erp.example.com", "db": "loja", "username": "bot", "sync_interval_min": 30}
    for domain in ("varejo", "atacado"):
        _put(cloud, f"/configs/{tenant_id}/{domain}/config", {"company": {"name": "Loja"}, "odoo": odoo},
             admin_headers)
    listed = HTTP.get(f"{cloud.url}/vectorize/jobs", params={"tenant_id": tenant_id}, headers=admin_headers)
    assert listed.status_code == 200 and listed.json() == {"jobs": [], "odoo_sync": None}
    named = HTTP.get(f"{cloud.url}/vectorize/jobs", params={"tenant_id": tenant_id},
                     headers={**admin_headers, "X-Domain": "atacado"}).json()["odoo_sync"]
    assert (named["domain"], named["sync_interval_min"], named["runs"]) == ("atacado", 30, None)
