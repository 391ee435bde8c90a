"""The Odoo gateway on the local stack: tenants configured through the Config API, the official `mcp` client on
`{cloud.url}/mcp`, REST, permissions, and an Odoo that is slow or down (the Odoo double)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from chatwoot_ai.odoo import mcp_tools
from devtools.doubles import OdooDouble

READ_TOOLS = {"search_products", "get_product", "check_stock", "find_customer", "get_order_status"}
WRITE_TOOLS = {"create_customer", "create_quotation"}


@pytest.fixture(scope="module")
def odoo() -> Iterator[OdooDouble]:
    with OdooDouble(version=18) as double:
        yield double


@pytest.fixture(autouse=True)
def _healthy_odoo(odoo: OdooDouble) -> None:
    odoo.delay_s = 0
    odoo.down = False


def configure(cloud: Any, headers: dict[str, str], tenant_id: str, odoo: OdooDouble, **odoo_extra: Any) -> None:
    config = {"company": {"name": "Sandra Cosméticos"},
              "odoo": {"url": odoo.url, "db": odoo.db, "username": odoo.username, **odoo_extra}}
    response = httpx.put(f"{cloud.url}/configs/{tenant_id}/default/config", json=config, headers=headers, timeout=10)
    assert response.status_code in (200, 201), response.text
    response = httpx.put(f"{cloud.url}/configs/{tenant_id}/default/credentials",
                         json={"odoo_api_key": odoo.api_key}, headers=headers, timeout=10)
    assert response.status_code in (200, 201), response.text


def gateway_headers(admin_headers: dict[str, str], tenant_id: str) -> dict[str, str]:
    return {**admin_headers, "X-Tenant-Id": tenant_id}


async def _mcp(url: str, headers: dict[str, str], calls: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    async with (httpx.AsyncClient(headers=headers, timeout=30) as http,
                streamable_http_client(url, http_client=http) as (read, write, _),
                ClientSession(read, write) as session):
        info = await session.initialize()
        tools = (await session.list_tools()).tools
        results = [await session.call_tool(name, args) for name, args in calls]
        return {"server": info.serverInfo.name, "tools": {t.name: t for t in tools}, "results": results}


def mcp_session(cloud: Any, headers: dict[str, str], *calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return asyncio.run(_mcp(f"{cloud.url}/mcp", headers, list(calls)))


def test_official_mcp_client_lists_and_calls_the_read_tools(cloud: Any, admin_headers: dict[str, str],
                                                            tenant_id: str, odoo: OdooDouble) -> None:
    configure(cloud, admin_headers, tenant_id, odoo)
    out = mcp_session(cloud, gateway_headers(admin_headers, tenant_id),
                      ("search_products", {"query": "protetor solar", "limit": 3}),
                      ("get_product", {"product_id": 107}),
                      ("check_stock", {"product_id": 101}),
                      ("find_customer", {"phone": "(11) 98765-4321"}),
                      ("get_order_status", {"ref": "S00001"}),
                      ("search_products", {"query": "gel", "limit": 500}))
    assert out["server"] == "chatwoot-ai-odoo"
    assert set(out["tools"]) == READ_TOOLS  # no write tools for a tenant without allow_write
    assert out["tools"]["search_products"].inputSchema["properties"]["limit"]["maximum"] == 20
    search, product, stock, customer, order, too_many = out["results"]
    assert not search.isError
    assert [p["sku"] for p in search.structuredContent["products"]] == ["PROT-50-001", "PROT-OIL-003",
                                                                        "PROT-COR-002"]
    assert '"sku":"PROT-50-001"' in search.content[0].text  # compact JSON text for the model
    assert product.structuredContent["name"] == "Sérum Facial Vitamina C"
    assert stock.structuredContent == {"product_id": 101, "name": "Gel de Limpeza Facial Pele Oleosa",
                                       "sku": "GEL-LIMP-001", "tracked": True, "qty_available": 25.0,
                                       "in_stock": True, "forecast": 25.0}
    assert customer.structuredContent["customers"][0]["name"] == "Maria da Silva"
    assert order.structuredContent["status"] == "Pedido confirmado"
    assert too_many.isError and '"field": "limit"' in too_many.content[0].text


def test_a_tenant_without_write_permission_cannot_create_anything(cloud: Any, admin_headers: dict[str, str],
                                                                  tenant_id: str, odoo: OdooDouble) -> None:
    configure(cloud, admin_headers, tenant_id, odoo)
    odoo.reset_counters()
    headers = gateway_headers(admin_headers, tenant_id)
    out = mcp_session(cloud, headers, ("create_customer", {"name": "Ana Souza"}),
                      ("create_quotation", {"customer_id": 7, "lines": [{"product_id": 101, "quantity": 1}]}))
    for result in out["results"]:
        assert result.isError and '"code": "write_disabled"' in result.content[0].text
    assert httpx.post(f"{cloud.url}/customers", json={"name": "Ana"}, headers=headers).status_code == 403
    response = httpx.post(f"{cloud.url}/orders", json={"customer_id": 7, "lines": [{"product_id": 101}]},
                          headers=headers)
    assert response.status_code == 403 and response.json()["error"]["code"] == "write_disabled"
    assert not any(method == "create" for _model, method in odoo.calls)


def test_a_tenant_with_write_permission_creates_a_customer_and_a_quotation(
        cloud: Any, admin_headers: dict[str, str], tenant_id: str, odoo: OdooDouble) -> None:
    configure(cloud, admin_headers, tenant_id, odoo, allow_write=True)
    headers = gateway_headers(admin_headers, tenant_id)
    email = f"{tenant_id}@example.com.br"
    out = mcp_session(cloud, headers, ("create_customer", {"name": "Ana Souza", "email": email}))
    assert set(out["tools"]) == READ_TOOLS | WRITE_TOOLS
    customer = out["results"][0].structuredContent["customer"]
    out = mcp_session(cloud, headers, ("create_quotation", {"customer_id": customer["id"], "lines": [
        {"product_id": 107, "quantity": 2}, {"product_id": 110}]}))
    quote = out["results"][0].structuredContent
    assert quote["status"] == "Orçamento" and quote["total"] == pytest.approx(2 * 129.9 + 89.9)
    order = httpx.get(f"{cloud.url}/orders/{quote['ref']}", headers=headers).json()
    assert order["customer"] == "Ana Souza" and len(order["lines"]) == 2


def test_rest_endpoints_on_the_stack(cloud: Any, admin_headers: dict[str, str], tenant_id: str,
                                     odoo: OdooDouble) -> None:
    configure(cloud, admin_headers, tenant_id, odoo)
    headers = gateway_headers(admin_headers, tenant_id)
    found = httpx.get(f"{cloud.url}/products", params={"q": "máscara", "limit": 5}, headers=headers).json()
    assert {p["sku"] for p in found["products"]} == {"MASC-ARG-001", "MASC-AH-002", "MASC-AHA-003"}
    assert all(p["in_stock"] is None for p in found["products"])  # not storable: stock not tracked
    assert httpx.get(f"{cloud.url}/products/110", headers=headers).json()["template_id"] == 10
    customers = httpx.get(f"{cloud.url}/customers", params={"email": "maria.silva@example.com.br"},
                          headers=headers).json()
    assert customers["customers"][0]["phone"] == "+55 11 98765-4321"
    missing = httpx.get(f"{cloud.url}/orders/S99999", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "ref"
    assert httpx.get(f"{cloud.url}/products", headers={"X-Tenant-Id": tenant_id}).status_code == 401


def test_many_mcp_requests_at_once_through_the_runner(cloud: Any, admin_headers: dict[str, str], tenant_id: str,
                                                      odoo: OdooDouble) -> None:
    """Each request runs its own stateless session manager: concurrent and repeated invocations all work."""
    configure(cloud, admin_headers, tenant_id, odoo)
    headers = gateway_headers(admin_headers, tenant_id)
    queries = ["gel", "sérum", "protetor", "máscara", "loção", "creme", "espuma", "sabonete"] * 2
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        outs = list(pool.map(lambda q: mcp_session(cloud, headers, ("search_products", {"query": q})), queries))
    for query, out in zip(queries, outs, strict=True):
        result = out["results"][0]
        assert not result.isError
        assert all(query.lower() in p["name"].lower() for p in result.structuredContent["products"])


def test_odoo_slow_or_down_gives_504_or_502_within_the_timeout(cloud: Any, admin_headers: dict[str, str],
                                                                tenant_id: str, odoo: OdooDouble) -> None:
    configure(cloud, admin_headers, tenant_id, odoo, timeout_s=1, cache_ttl_s=0)
    headers = gateway_headers(admin_headers, tenant_id)
    odoo.delay_s = 30
    started = time.monotonic()
    response = httpx.get(f"{cloud.url}/products", params={"q": "gel"}, headers=headers, timeout=30)
    assert response.status_code == 504 and response.json()["error"]["code"] == "odoo_timeout"
    with pytest.raises(mcp_tools.ToolCallError) as err:
        mcp_tools.call_tool(cloud.url, admin_headers["X-Api-Key"], tenant_id, "check_stock", {"product_id": 101},
                            timeout_s=20)
    assert err.value.code == "odoo_timeout"
    assert time.monotonic() - started < 20  # neither waited for the 30 s Odoo
    odoo.delay_s = 0
    odoo.down = True
    response = httpx.get(f"{cloud.url}/products/101", headers=headers, timeout=30)
    assert response.status_code == 502 and response.json()["error"]["code"] == "odoo_unreachable"


def test_crew_helper_speaks_mcp_to_the_gateway(cloud: Any, admin_headers: dict[str, str], tenant_id: str,
                                               odoo: OdooDouble) -> None:
    configure(cloud, admin_headers, tenant_id, odoo)
    key = admin_headers["X-Api-Key"]
    tools = mcp_tools.list_tools(cloud.url, key, tenant_id)
    assert {t["name"] for t in tools} == READ_TOOLS
    assert "query" in next(t for t in tools if t["name"] == "search_products")["input_schema"]["properties"]
    result = mcp_tools.call_tool(cloud.url, key, tenant_id, "get_order_status", {"ref": "S00001"}, timeout_s=10)
    assert result["customer"] == "Maria da Silva"
    with pytest.raises(mcp_tools.ToolCallError) as err:
        mcp_tools.call_tool(cloud.url, key, tenant_id, "create_customer", {"name": "Ana"})
    assert err.value.code == "write_disabled"
    with pytest.raises(mcp_tools.GatewayAuthError) as refused:
        mcp_tools.call_tool(cloud.url, "wrong-key", tenant_id, "get_product", {"product_id": 101})
    assert refused.value.status == 401
    with pytest.raises(mcp_tools.GatewayUnavailable):
        mcp_tools.list_tools("http://127.0.0.1:9", key, tenant_id, timeout_s=3)


def test_turning_writes_on_takes_effect_without_a_restart(cloud: Any, admin_headers: dict[str, str],
                                                          tenant_id: str, odoo: OdooDouble) -> None:
    configure(cloud, admin_headers, tenant_id, odoo)
    key = admin_headers["X-Api-Key"]
    assert {t["name"] for t in mcp_tools.list_tools(cloud.url, key, tenant_id)} == READ_TOOLS
    configure(cloud, admin_headers, tenant_id, odoo, allow_write=True)
    deadline = time.monotonic() + 30  # the ConfigChanged event, or at worst the cache's bounded staleness
    names: set[str] = set()
    while time.monotonic() < deadline:
        names = {t["name"] for t in mcp_tools.list_tools(cloud.url, key, tenant_id)}
        if names >= WRITE_TOOLS:
            break
        time.sleep(0.25)
    assert names == READ_TOOLS | WRITE_TOOLS


def test_an_odoo_19_tenant_on_json2(cloud: Any, admin_headers: dict[str, str], tenant_id: str) -> None:
    with OdooDouble(version=19) as odoo19:
        configure(cloud, admin_headers, tenant_id, odoo19, protocol="json2", allow_write=True)
        out = mcp_session(cloud, gateway_headers(admin_headers, tenant_id),
                          ("search_products", {"query": "retinol"}),
                          ("create_customer", {"name": "Bruna Lima", "phone": "+55 41 99111-2233"}))
        search, created = out["results"]
        assert [p["sku"] for p in search.structuredContent["products"]] == ["SER-RET-003"]
        assert created.structuredContent["created"] is True
        assert odoo19.calls[("res.partner", "create")] == 1
        assert odoo19.authentications == 0  # JSON-2 has no login: the bearer key is enough


def test_crew_helper_works_from_inside_a_running_event_loop(cloud: Any, admin_headers: dict[str, str],
                                                            tenant_id: str, odoo: OdooDouble) -> None:
    """crewai may call tools from async code; the blocking helper must not trip over the running loop."""
    configure(cloud, admin_headers, tenant_id, odoo)

    async def from_async_code() -> dict[str, Any]:
        return mcp_tools.call_tool(cloud.url, admin_headers["X-Api-Key"], tenant_id, "check_stock",
                                   {"product_id": 104})

    assert asyncio.run(from_async_code())["qty_available"] == 22.0
