"""Pull mode: POST /vectorize/sync pulls a tenant's sellable Odoo products (through the Odoo client, against the
Odoo double), vectorizes them with progress in the job, and a later sync removes what Odoo archived."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devtools.doubles.odoo import PRODUCT_ID_OFFSET, OdooDouble

pytestmark = pytest.mark.slow


@pytest.fixture
def odoo() -> Iterator[OdooDouble]:
    with OdooDouble() as double:
        yield double


def _put(cloud: Any, path: str, body: dict[str, Any], headers: dict[str, str]) -> None:
    response = httpx.put(cloud.url + path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text


@pytest.fixture
def tenant(cloud: Any, tenant_id: str, admin_headers: dict[str, str], odoo: OdooDouble) -> dict[str, Any]:
    token = secrets.token_urlsafe(24)
    _put(cloud, f"/configs/{tenant_id}/default/config", {
        "company": {"name": "Sandra Cosméticos"},
        "odoo": {"url": odoo.url, "db": odoo.db, "username": odoo.username},
    }, admin_headers)
    _put(cloud, f"/configs/{tenant_id}/default/credentials",
         {"vectorize_token": token, "odoo_api_key": odoo.api_key}, admin_headers)
    return {"id": tenant_id, "headers": {"Authorization": f"Bearer {token}"}}


def _sync(cloud: Any, tenant: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(cloud.url + "/vectorize/sync", json={"tenant_id": tenant["id"]}, headers=tenant["headers"])
    assert response.status_code == 202, response.text
    assert response.json()["kind"] == "sync"
    job_id = response.json()["job_id"]
    deadline = time.monotonic() + 180
    while True:
        job = httpx.get(f"{cloud.url}/vectorize/jobs/{job_id}", headers=tenant["headers"]).json()
        if job["status"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def _search(cloud: Any, tenant: dict[str, Any], query: str) -> list[dict[str, Any]]:
    response = httpx.post(cloud.url + "/search", json={"tenant_id": tenant["id"], "collection": "products",
                                                       "query": query, "limit": 3}, headers=tenant["headers"])
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_sync_pulls_the_catalogue_and_removes_archived_products(cloud: Any, tenant: dict[str, Any],
                                                                odoo: OdooDouble) -> None:
    job = _sync(cloud, tenant)
    sellable = [p for p in odoo.records["product.product"].values() if p.get("sale_ok") and p.get("active", True)]
    assert (job["status"], job["kind"], job["total"], job["processed"], job["failed"]) == (
        "done", "sync", len(sellable), len(sellable), 0)
    hits = _search(cloud, tenant, "protetor solar com cor")
    sunscreen = 11 + PRODUCT_ID_OFFSET  # "Protetor Solar Facial com Cor FPS 30" as a product.product
    assert hits[0]["id"] == str(sunscreen)
    assert hits[0]["metadata"]["sku"] == "PROT-COR-002" and hits[0]["metadata"]["odoo_model"] == "product.product"

    odoo.records["product.product"][sunscreen]["active"] = False  # archived in Odoo
    again = _sync(cloud, tenant)
    assert (again["status"], again["skipped"], again["deleted"]) == ("done", len(sellable) - 1, 1)
    assert all(h["id"] != str(sunscreen) for h in _search(cloud, tenant, "protetor solar com cor"))


def test_sync_of_a_tenant_without_odoo_is_a_clear_409(cloud: Any, tenant_id: str,
                                                      admin_headers: dict[str, str]) -> None:
    token = secrets.token_urlsafe(24)
    _put(cloud, f"/configs/{tenant_id}/default/config", {"company": {"name": "Sem Odoo"}}, admin_headers)
    _put(cloud, f"/configs/{tenant_id}/default/credentials", {"vectorize_token": token}, admin_headers)
    response = httpx.post(cloud.url + "/vectorize/sync", json={"tenant_id": tenant_id},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 409 and response.json()["error"]["field"] == "odoo"


def test_sync_with_a_refused_odoo_key_fails_the_job_with_odoos_reason(cloud: Any, tenant_id: str,
                                                                       admin_headers: dict[str, str],
                                                                       odoo: OdooDouble) -> None:
    token = secrets.token_urlsafe(24)
    _put(cloud, f"/configs/{tenant_id}/default/config", {
        "company": {"name": "Chave errada"},
        "odoo": {"url": odoo.url, "db": odoo.db, "username": odoo.username},
    }, admin_headers)
    _put(cloud, f"/configs/{tenant_id}/default/credentials",
         {"vectorize_token": token, "odoo_api_key": "not-the-key"}, admin_headers)
    job = _sync(cloud, {"id": tenant_id, "headers": {"Authorization": f"Bearer {token}"}})
    assert job["status"] == "failed" and job["processed"] == 0
    assert job["errors"] and job["errors"][0]["message"].startswith("odoo_")
