"""The gateway handler with API Gateway v2 events (as the runner and Lambda send them), a stand-in config cache and
the Odoo double. The whole stack (Config API, runner, MCP client) is in tests/integration/test_odoo_gateway.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from chatwoot_ai.config import get_config_cache
from chatwoot_ai.models import Credentials, TenantConfig
from chatwoot_ai.odoo import get_pool, get_read_cache
from chatwoot_ai.settings import reset_settings
from devtools.doubles import OdooDouble
from devtools.lambda_context import FakeLambdaContext
from localcloud.gateway import Route, build_event, compile_path

ADMIN = "unit-admin-key-0123456789"


class FakeConfigCache:
    def __init__(self) -> None:
        self.configs: dict[str, TenantConfig] = {}
        self.credentials_by_tenant: dict[str, Credentials] = {}
        self.events: list[dict[str, Any]] = []

    def config(self, tenant_id: str, domain: str = "default") -> TenantConfig | None:
        return self.configs.get(tenant_id)

    def credentials(self, tenant_id: str, domain: str = "default") -> Credentials | None:
        return self.credentials_by_tenant.get(tenant_id)

    def domains(self, tenant_id: str) -> list[str]:
        return ["default"] if tenant_id in self.configs else []

    def handle_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)


@pytest.fixture
def odoo() -> Iterator[OdooDouble]:
    with OdooDouble() as double:
        yield double


@pytest.fixture
def fake_cache(monkeypatch: pytest.MonkeyPatch, odoo: OdooDouble) -> Iterator[FakeConfigCache]:
    monkeypatch.setenv("ADMIN_API_KEY", ADMIN)
    reset_settings()
    cache = FakeConfigCache()
    odoo_section = {"url": odoo.url, "db": odoo.db, "username": odoo.username, "timeout_s": 1}
    cache.configs["reader"] = TenantConfig.model_validate({"company": {"name": "Sandra"}, "odoo": odoo_section})
    cache.configs["writer"] = TenantConfig.model_validate(
        {"company": {"name": "Sandra"}, "odoo": {**odoo_section, "allow_write": True}})
    cache.configs["no_odoo"] = TenantConfig.model_validate({"company": {"name": "Sem ERP"}})
    for tenant in ("reader", "writer", "no_odoo"):
        cache.credentials_by_tenant[tenant] = Credentials(odoo_api_key=SecretStr(odoo.api_key))
    get_read_cache().clear()
    get_pool().clear()
    with get_config_cache.override(cache):  # type: ignore[arg-type]
        yield cache
    reset_settings()


def invoke(method: str, path: str, *, tenant: str | None = "reader", body: Any = None, query: str = "",
           key: str | None = ADMIN) -> tuple[int, Any]:
    import odoo_gateway

    headers = {"content-type": "application/json", "host": "127.0.0.1"}
    if key is not None:
        headers["x-api-key"] = key
    if tenant is not None:
        headers["x-tenant-id"] = tenant
    route_path = path if not path.startswith("/products/") else "/products/{product_id}"
    route = Route(method, route_path, compile_path(route_path), None)  # type: ignore[arg-type]
    raw = json.dumps(body).encode() if body is not None else b""
    event = build_event(route, method, path, query, headers, raw, {}, "127.0.0.1", "unit")
    result = odoo_gateway.lambda_handler(event, FakeLambdaContext("OdooGatewayFunction"))
    return result["statusCode"], json.loads(result["body"]) if result.get("body") else None


def test_auth_and_tenant_errors_have_the_contract_shape(fake_cache: FakeConfigCache) -> None:
    assert invoke("GET", "/products", key=None) == (401, {"error": {"code": "unauthorized",
                                                                    "message": "X-Api-Key is missing or wrong"}})
    status, body = invoke("GET", "/products", tenant=None)
    assert status == 400 and body["error"]["field"] == "X-Tenant-Id"
    status, body = invoke("GET", "/products", tenant="ghost")
    assert status == 404 and body["error"]["code"] == "tenant_not_found"
    status, body = invoke("GET", "/products", tenant="no_odoo")
    assert status == 409 and body["error"]["code"] == "odoo_not_configured"
    status, body = invoke("POST", "/mcp", tenant=None, body={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert status == 400 and body["error"]["field"] == "X-Tenant-Id"


def test_rest_reads(fake_cache: FakeConfigCache) -> None:
    status, body = invoke("GET", "/products", query="q=s%C3%A9rum&limit=2")
    assert status == 200 and body["count"] == 2 and all("Sérum" in p["name"] for p in body["products"])
    status, body = invoke("GET", "/products/107")
    assert status == 200 and body["sku"] == "SER-VIT-001" and body["stock"]["qty_available"] == 12.0
    status, body = invoke("GET", "/customers", query="phone=%2B55%2011%2098765-4321")
    assert status == 200 and body["customers"][0]["name"] == "Maria da Silva"
    status, body = invoke("GET", "/orders/S00001")
    assert status == 200 and body["status"] == "Pedido confirmado"


def test_rest_validation_names_the_field(fake_cache: FakeConfigCache) -> None:
    status, body = invoke("GET", "/products", query="limit=0")
    assert status == 422 and body["error"]["field"] == "limit"
    status, body = invoke("GET", "/products/abc")
    assert status == 422 and body["error"]["field"] == "product_id"
    status, body = invoke("GET", "/products/999")
    assert status == 404 and body["error"]["field"] == "product_id"
    status, body = invoke("POST", "/orders", tenant="writer", body={"customer_id": 7, "lines": [{"product_id": 101,
                                                                                              "quantity": -1}]})
    assert status == 422 and body["error"]["field"] == "lines.0.quantity"


def test_rest_writes_need_permission(fake_cache: FakeConfigCache, odoo: OdooDouble) -> None:
    status, body = invoke("POST", "/customers", body={"name": "Ana Souza"})
    assert status == 403 and body["error"]["code"] == "write_disabled"
    status, body = invoke("POST", "/orders", body={"customer_id": 7, "lines": [{"product_id": 101}]})
    assert status == 403
    assert not any(method == "create" for _model, method in odoo.calls)

    status, body = invoke("POST", "/customers", tenant="writer", body={"name": "Ana Souza", "phone": "31 91234-5678"})
    assert status == 201 and body["created"] is True
    status, order = invoke("POST", "/orders", tenant="writer",
                           body={"customer_id": body["customer"]["id"], "lines": [{"product_id": 107, "quantity": 2}]})
    assert status == 201 and order["status"] == "Orçamento"
    status, body = invoke("GET", f"/orders/{order['ref']}")
    assert status == 200 and body["customer"] == "Ana Souza"


def test_odoo_slow_or_down_is_504_or_502(fake_cache: FakeConfigCache, odoo: OdooDouble) -> None:
    odoo.delay_s = 30
    status, body = invoke("GET", "/products", query="q=gel")
    assert status == 504 and body["error"]["code"] == "odoo_timeout"
    odoo.delay_s = 0
    odoo.down = True
    status, body = invoke("GET", "/products", query="q=protetor")
    assert status == 502 and body["error"]["code"] == "odoo_unreachable"


def test_config_changed_events_go_to_the_config_cache(fake_cache: FakeConfigCache) -> None:
    import odoo_gateway

    event = {"source": "chatwoot-ai.config", "detail-type": "ConfigChanged", "detail": {"tenant_id": "reader"}}
    assert odoo_gateway.lambda_handler(event, FakeLambdaContext("OdooGatewayFunction")) == {}
    assert fake_cache.events == [event]


def test_unknown_route_is_a_json_404(fake_cache: FakeConfigCache) -> None:
    status, body = invoke("GET", "/nothing")
    assert status == 404 and body["error"]["code"] == "not_found"
