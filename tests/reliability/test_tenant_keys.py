"""Issue 16, finding 5: one global admin key for everything. Tenant-scoped API keys (chatwoot_ai.access): created and
revoked through the Config API, shown once, stored hashed, and each reaching only its own tenant's configs, Odoo
gateway and vectorize routes; the worker's signed customer identity opens its own tenant's gateway only."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.tenants import create_tenant

from devtools.doubles import OdooDouble


@pytest.fixture(scope="module")
def odoo() -> Iterator[OdooDouble]:
    with OdooDouble(version=18) as double:
        yield double


def _tenant(cloud: Any, odoo: OdooDouble) -> str:
    config = {"company": {"name": "Loja Chaves"}, "enabled_collections": [],
              "odoo": {"url": odoo.url, "db": odoo.db, "username": odoo.username}}
    return str(create_tenant(cloud, config, {"odoo_api_key": odoo.api_key}, mapped=False)["id"])


def _new_key(cloud: Any, tenant_id: str, label: str = "integração Odoo") -> dict[str, Any]:
    response = httpx.post(f"{cloud.url}/configs/{tenant_id}/api-keys", json={"label": label},
                          headers={"X-Api-Key": cloud.admin_key}, timeout=30)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_tenant_key_is_shown_once_and_stored_hashed(cloud: Any, odoo: OdooDouble) -> None:
    from chatwoot_ai import aws

    tenant_id = _tenant(cloud, odoo)
    created = _new_key(cloud, tenant_id)
    key = created["key"]
    assert key.startswith("cak_") and len(key) > 50 and created["last4"] == key[-4:]
    again = _new_key(cloud, tenant_id, "segunda")
    assert again["key"] != key
    refused = httpx.post(f"{cloud.url}/configs/{tenant_id}/api-keys", json={"label": "nul\u0000"},
                         headers={"X-Api-Key": cloud.admin_key}, timeout=30)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "label"
    listed = httpx.get(f"{cloud.url}/configs/{tenant_id}/api-keys", headers={"X-Api-Key": cloud.admin_key},
                       timeout=30)
    assert listed.status_code == 200
    assert {k["key_id"] for k in listed.json()["keys"]} == {created["key_id"], again["key_id"]}
    assert {k["label"] for k in listed.json()["keys"]} == {"integração Odoo", "segunda"}
    assert key not in listed.text and again["key"] not in listed.text and "key_sha256" not in listed.text
    # Stored: the SHA-256 of the key, never the key.
    item = aws.client("dynamodb").get_item(TableName=cloud.stack.refs["ConfigTable"],
                                           Key={"pk": {"S": f"APIKEY#{created['key_id']}"}, "sk": {"S": "APIKEY"}})
    stored = item["Item"]
    assert stored["key_sha256"]["S"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(stored) and key[len("cak_") + 17:] not in str(stored)
    # The tenant list (a Scan of the same table) does not show keys as tenants or documents.
    tenants = httpx.get(f"{cloud.url}/configs", headers={"X-Api-Key": cloud.admin_key}, timeout=30).json()
    assert [t["config_types"] for t in tenants["tenants"] if t["tenant_id"] == tenant_id] == [
        ["config", "credentials"]]


def test_a_tenant_key_reaches_only_its_own_tenant(cloud: Any, odoo: OdooDouble) -> None:
    mine, theirs = _tenant(cloud, odoo), _tenant(cloud, odoo)
    key = _new_key(cloud, mine)["key"]
    as_mine = {"X-Api-Key": key}
    # Its own tenant: configs (read and write), the Odoo gateway (REST and MCP), vectorize and search.
    own = [
        ("GET", f"/configs/{mine}/default/config", None, {}),
        ("PUT", f"/configs/{mine}/default/whatsapp", {"max_length": 600}, {}),
        ("GET", f"/configs/{mine}/default/credentials", None, {}),
        ("GET", f"/configs/{mine}/api-keys", None, {}),
        ("GET", "/products?q=protetor", None, {"X-Tenant-Id": mine}),
        ("GET", "/orders/S00001", None, {"X-Tenant-Id": mine}),  # an operator's key: not bound to a customer
        ("POST", "/search", {"tenant_id": mine, "collection": "products", "query": "tênis"}, {}),
        ("POST", "/vectorize", {"tenant_id": mine, "collection": "products", "delete_ids": ["nada"]}, {}),
        ("GET", f"/vectorize/jobs?tenant_id={mine}", None, {}),
    ]
    for method, path, body, extra in own:
        response = httpx.request(method, cloud.url + path, json=body, headers={**as_mine, **extra}, timeout=60)
        assert response.status_code in (200, 202), (method, path, response.status_code, response.text[:300])
    from chatwoot_ai.odoo.mcp_tools import GatewayAuthError, call_tool, list_tools

    assert "get_order_status" in {t["name"] for t in list_tools(cloud.url, key, mine)}
    assert call_tool(cloud.url, key, mine, "get_order_status", {"ref": "S00001"})["customer"] == "Maria da Silva"
    # Another tenant's routes: 403, and nothing of theirs in the answer.
    foreign = [
        ("GET", f"/configs/{theirs}/default/config", None, {}),
        ("PUT", f"/configs/{theirs}/default/config", {"company": {"name": "Tomada"}}, {}),
        ("GET", f"/configs/{theirs}/default/credentials", None, {}),
        ("GET", f"/configs/{theirs}/default/config/versions", None, {}),
        ("GET", f"/configs/{theirs}/api-keys", None, {}),
        ("GET", "/products", None, {"X-Tenant-Id": theirs}),
        ("GET", "/orders/S00001", None, {"X-Tenant-Id": theirs}),
        ("POST", "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, {"X-Tenant-Id": theirs}),
        ("POST", "/search", {"tenant_id": theirs, "collection": "products", "query": "tênis"}, {}),
        ("POST", "/vectorize", {"tenant_id": theirs, "collection": "products",
                                "records": [{"id": "x", "text": "preço falso", "metadata": {}}]}, {}),
        ("GET", f"/vectorize/jobs?tenant_id={theirs}", None, {}),
    ]
    for method, path, body, extra in foreign:
        response = httpx.request(method, cloud.url + path, json=body, headers={**as_mine, **extra}, timeout=60)
        assert response.status_code == 403, (method, path, response.status_code, response.text[:300])
        assert response.json()["error"]["code"] == "forbidden"
    with pytest.raises(GatewayAuthError):
        list_tools(cloud.url, key, theirs)
    # Admin-only routes stay the admin's: the tenant list, the mapping, key creation, collections.
    admin_only = [
        ("GET", "/configs", None), ("GET", "/mapping", None),
        ("PUT", "/mapping", {"mappings": [{"chatwoot_account_id": 987_001, "tenant_id": mine}]}),
        ("POST", f"/configs/{mine}/api-keys", {"label": "mais uma"}),
        ("GET", "/collections", None), ("POST", "/collections", {"name": "faq_extra"}),
    ]
    for method, path, body in admin_only:
        response = httpx.request(method, cloud.url + path, json=body, headers=as_mine, timeout=60)
        assert response.status_code == 403, (method, path, response.status_code, response.text[:300])
    admin = {"X-Api-Key": cloud.admin_key}
    theirs_config = httpx.get(f"{cloud.url}/configs/{theirs}/default/config", headers=admin, timeout=30).json()
    assert theirs_config["version"] == 1 and theirs_config["data"]["company"]["name"] == "Loja Chaves"


def test_a_revoked_key_is_refused_at_once(cloud: Any, odoo: OdooDouble) -> None:
    mine, theirs = _tenant(cloud, odoo), _tenant(cloud, odoo)
    first, second = _new_key(cloud, mine), _new_key(cloud, mine, "segunda")
    their_key = _new_key(cloud, theirs)["key"]
    url = f"{cloud.url}/configs/{mine}/default/config"
    assert httpx.get(url, headers={"X-Api-Key": first["key"]}, timeout=30).status_code == 200
    # Another tenant's key cannot revoke it; an unknown id is 404.
    revoke = f"{cloud.url}/configs/{mine}/api-keys/{first['key_id']}"
    assert httpx.delete(revoke, headers={"X-Api-Key": their_key}, timeout=30).status_code == 403
    assert httpx.delete(f"{cloud.url}/configs/{theirs}/api-keys/{first['key_id']}",
                        headers={"X-Api-Key": their_key}, timeout=30).status_code == 404
    # The tenant revokes its own key with another of its keys; the admin could too.
    response = httpx.delete(revoke, headers={"X-Api-Key": second["key"]}, timeout=30)
    assert response.status_code == 200 and response.json()["revoked"]["key_id"] == first["key_id"]
    refused = httpx.get(url, headers={"X-Api-Key": first["key"]}, timeout=30)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert httpx.get(f"{cloud.url}/products", headers={"X-Api-Key": first["key"], "X-Tenant-Id": mine},
                     timeout=30).status_code == 401
    assert httpx.delete(revoke, headers={"X-Api-Key": cloud.admin_key}, timeout=30).status_code == 404
    # A forged key (a live key id with another secret) is refused too.
    forged = second["key"][:-6] + "AAAAAA"
    assert httpx.get(url, headers={"X-Api-Key": forged}, timeout=30).status_code == 401
    keys = httpx.get(f"{cloud.url}/configs/{mine}/api-keys", headers={"X-Api-Key": second["key"]}, timeout=30)
    assert [k["key_id"] for k in keys.json()["keys"]] == [second["key_id"]]


def test_the_workers_identity_opens_only_its_tenants_gateway(cloud: Any, odoo: OdooDouble) -> None:
    """The worker calls the gateway with a signed customer identity instead of the admin key: it opens its own
    tenant's tools and nothing else (another tenant's gateway: 403; the Config API: 401); a forged or expired one
    is refused."""
    from chatwoot_ai.identity import IDENTITY_HEADER, CustomerIdentity, sign_identity
    from chatwoot_ai.odoo.mcp_tools import list_tools

    mine, theirs = _tenant(cloud, odoo), _tenant(cloud, odoo)
    token = sign_identity(CustomerIdentity(mine, "default", 1, 1, 905, "+5511987654321"))
    assert "search_products" in {t["name"] for t in list_tools(cloud.url, "", mine, identity=token)}
    refused = [
        ("GET", "/products", {"X-Tenant-Id": theirs}, 403),
        ("POST", "/mcp", {"X-Tenant-Id": theirs}, 403),
        ("GET", f"/configs/{mine}/default/config", {}, 401),
        ("GET", "/configs", {}, 401),
        ("POST", "/search", {}, 401),
    ]
    for method, path, extra, status in refused:
        response = httpx.request(method, cloud.url + path, headers={IDENTITY_HEADER: token, **extra}, timeout=30,
                                 json={"tenant_id": mine, "collection": "products", "query": "x", "jsonrpc": "2.0",
                                       "id": 1, "method": "tools/list"})
        assert response.status_code == status, (method, path, response.status_code, response.text[:300])
    expired = sign_identity(CustomerIdentity(mine, "default", 1, 1, 905, "+5511987654321"), now=0)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for bad in (expired, forged, "v1.e30.x"):
        response = httpx.get(f"{cloud.url}/products", headers={IDENTITY_HEADER: bad, "X-Tenant-Id": mine},
                             timeout=30)
        assert response.status_code == 401, response.text
