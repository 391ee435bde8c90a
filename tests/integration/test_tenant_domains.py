"""A caller that names only the tenant (the Odoo gateway's X-Tenant-Id, a vectorize token, a sync) gets the
tenant's only domain, whatever its name; a tenant with several gets a 400 that lists them, until the caller names
one (X-Domain, or `domain` in a sync)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devtools.doubles import OdooDouble


@pytest.fixture(scope="module")
def odoo() -> Iterator[OdooDouble]:
    with OdooDouble() as double:
        yield double


def _put(cloud: Any, path: str, body: dict[str, Any], headers: dict[str, str]) -> None:
    response = httpx.put(cloud.url + path, json=body, headers=headers, timeout=30)
    assert response.status_code in (200, 201), response.text


def _tenant_in(cloud: Any, admin: dict[str, str], tenant_id: str, domain: str, odoo: OdooDouble) -> str:
    """A tenant's documents in one domain (config with Odoo, credentials with a token); returns the token."""
    token = secrets.token_urlsafe(18)
    _put(cloud, f"/configs/{tenant_id}/{domain}/config", {
        "company": {"name": f"Sandra Cosméticos ({domain})"},
        "odoo": {"url": odoo.url, "db": odoo.db, "username": odoo.username}}, admin)
    _put(cloud, f"/configs/{tenant_id}/{domain}/credentials",
         {"vectorize_token": token, "odoo_api_key": odoo.api_key}, admin)
    return token


def _eventually(check: Any, timeout: float = 15.0) -> Any:
    """Caches learn a tenant's new domain from the ConfigChanged event (or after CONFIG_MAX_STALENESS_S)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_a_tenant_with_one_non_default_domain_needs_no_domain(cloud: Any, admin_headers: dict[str, str],
                                                              tenant_id: str, odoo: OdooDouble) -> None:
    token = _tenant_in(cloud, admin_headers, tenant_id, "varejo", odoo)

    products = httpx.get(f"{cloud.url}/products", params={"q": "protetor", "limit": 2},
                         headers={**admin_headers, "X-Tenant-Id": tenant_id}, timeout=30)
    assert products.status_code == 200, products.text
    assert products.json()["products"]

    bearer = {"Authorization": f"Bearer {token}"}
    submitted = httpx.post(f"{cloud.url}/vectorize", headers=bearer, timeout=30, json={
        "tenant_id": tenant_id, "collection": "business_rules",
        "records": [{"id": "trocas", "text": "Trocas em até 7 dias corridos, com nota fiscal."}]})
    assert submitted.status_code == 202, submitted.text
    found = httpx.post(f"{cloud.url}/search", headers=bearer, timeout=60, json={
        "tenant_id": tenant_id, "collection": "business_rules", "query": "prazo para troca"})
    assert found.status_code == 200, found.text

    sync = httpx.post(f"{cloud.url}/vectorize/sync", headers=bearer, json={"tenant_id": tenant_id}, timeout=30)
    assert sync.status_code == 202, sync.text


def test_a_tenant_with_several_domains_gets_a_400_listing_them(cloud: Any, admin_headers: dict[str, str],
                                                               tenant_id: str, odoo: OdooDouble) -> None:
    token = _tenant_in(cloud, admin_headers, tenant_id, "varejo", odoo)
    gateway = {**admin_headers, "X-Tenant-Id": tenant_id}
    assert httpx.get(f"{cloud.url}/products", headers=gateway, timeout=30).status_code == 200
    _tenant_in(cloud, admin_headers, tenant_id, "atacado", odoo)

    refused = _eventually(lambda: (r := httpx.get(f"{cloud.url}/products", headers=gateway, timeout=30))
                          .status_code == 400 and r)
    assert refused, "the gateway still picks a domain for a tenant that has two"
    error = refused.json()["error"]
    assert error["code"] == "domain_required" and error["field"] == "X-Domain"
    assert "atacado" in error["message"] and "varejo" in error["message"]
    named = httpx.get(f"{cloud.url}/products", headers={**gateway, "X-Domain": "atacado"}, timeout=30)
    assert named.status_code == 200, named.text

    # A vectorize token opens the 400 (and its list of domains) only to the tenant itself.
    body = {"tenant_id": tenant_id, "collection": "business_rules", "query": "troca"}
    stranger = httpx.post(f"{cloud.url}/search", json=body, timeout=30,
                          headers={"Authorization": "Bearer not-the-token-0123456789"})
    assert stranger.status_code == 401 and "varejo" not in stranger.text
    own = _eventually(lambda: (r := httpx.post(f"{cloud.url}/search", json=body, timeout=30, headers={
        "Authorization": f"Bearer {token}"})).status_code == 400 and r)
    assert own and "atacado" in own.json()["error"]["message"]
    with_domain = httpx.post(f"{cloud.url}/search", json=body, timeout=60,
                             headers={"Authorization": f"Bearer {token}", "X-Domain": "varejo"})
    assert with_domain.status_code == 200, with_domain.text

    sync = httpx.post(f"{cloud.url}/vectorize/sync", json={"tenant_id": tenant_id}, headers=admin_headers,
                      timeout=30)
    assert sync.status_code == 400 and sync.json()["error"]["field"] == "domain"
    sync = httpx.post(f"{cloud.url}/vectorize/sync", json={"tenant_id": tenant_id, "domain": "atacado"},
                      headers=admin_headers, timeout=30)
    assert sync.status_code == 202, sync.text


def test_an_unknown_tenant_is_still_not_found(cloud: Any, admin_headers: dict[str, str], tenant_id: str) -> None:
    response = httpx.get(f"{cloud.url}/products", headers={**admin_headers, "X-Tenant-Id": tenant_id}, timeout=30)
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "X-Tenant-Id"
