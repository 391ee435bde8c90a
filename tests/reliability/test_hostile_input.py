"""Hostile input (issue 16, findings 2 and 3), over HTTP through the local stack.

Finding 2: deeply nested JSON answered 500 (RecursionError) on PUT /configs, PUT /mapping, /vectorize, /search,
/collections, /odoo-webhook and the Chatwoot webhook, and /mcp answered JSON-RPC -32603; invalid UTF-8 answered 500 on
the same APIs; a 400-digit X-Chatwoot-Timestamp or X-Odoo-Timestamp answered 500 (OverflowError). Now: one body
reader (chatwoot_ai.api.read_json: size, depth, UTF-8) and one timestamp parser (chatwoot_ai.signing), a 400 naming
the field; /mcp a JSON-RPC parse error (-32700).

Finding 3: nonsense was stored: `chatwoot_account_id` 10^30, a channel override `max_length` -1, a NUL in
`company.name`, a record id 10^40. Now: 422 naming the field.

Each case was run against main's code before the fix (5xx or 200 there); see docs/reliability.md.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability.load_driver import Tenant, make_tenants

from chatwoot_ai.signing import ODOO, sign
from devtools.chatwoot_payloads import incoming, signed
from devtools.doubles import ChatwootStub, OdooDouble

DEEP = 100_000  # far past CPython's recursion limit: json.loads raised RecursionError


def deep_object(depth: int = DEEP) -> bytes:
    return b'{"tenant_id": "t_x", "a": ' + b"[" * depth + b"]" * depth + b"}"


INVALID_UTF8 = b'{"tenant_id": "loja\xff\xfe\xc3(", "collection": "products", "query": "ol\xe1"}'
LONE_SURROGATE = b'{"tenant_id": "t_x", "collection": "products", "query": "\\ud800 bot\\udfff"}'
HUGE_DIGITS = b'{"tenant_id": "t_x", "limit": ' + b"9" * 5000 + b"}"
HOSTILE_BODIES = {"deep": deep_object(), "invalid_utf8": INVALID_UTF8, "lone_surrogate": LONE_SURROGATE,
                  "huge_digits": HUGE_DIGITS}


@pytest.fixture(scope="module")
def shop(cloud: Any) -> Iterator[dict[str, Any]]:
    with ChatwootStub() as stub, OdooDouble(version=18) as odoo:
        (tenant,) = make_tenants(cloud.url, cloud.admin_key, stub.url, 1)
        odoo_secret = "ows-" + uuid.uuid4().hex
        admin = {"X-Api-Key": cloud.admin_key}
        httpx.put(f"{cloud.url}/configs/{tenant.id}/default/credentials", headers=admin, timeout=30,
                  json={"odoo_webhook_secret": odoo_secret, "odoo_api_key": odoo.api_key}).raise_for_status()
        config = {"company": {"name": "Loja Hostil"}, "enabled_collections": [],
                  "chatwoot": {"base_url": stub.url},
                  "odoo": {"url": odoo.url, "db": odoo.db, "username": odoo.username}}
        httpx.put(f"{cloud.url}/configs/{tenant.id}/default/config", json=config, headers=admin,
                  timeout=30).raise_for_status()
        yield {"tenant": tenant, "odoo_secret": odoo_secret, "stub": stub}


def _hook_token(cloud: Any, tenant: Tenant) -> str:
    """The tenant's Odoo webhook URL token (issue 20): the body behind a valid token is what gets fuzzed."""
    issued = httpx.post(f"{cloud.url}/configs/{tenant.id}/odoo-hook-token", headers={"X-Api-Key": cloud.admin_key},
                        timeout=30)
    issued.raise_for_status()
    return str(issued.json()["token"])


def api_calls(cloud: Any, tenant: Tenant) -> list[tuple[str, str, dict[str, str]]]:
    admin = {"X-Api-Key": cloud.admin_key, "Content-Type": "application/json"}
    return [
        ("PUT", f"/configs/{tenant.id}/default/config", admin),
        ("PUT", "/mapping", admin),
        ("POST", "/vectorize", admin),
        ("POST", "/search", admin),
        ("POST", "/collections", admin),
        ("POST", "/odoo-webhook", {"Content-Type": "application/json"}),
        ("POST", "/webhooks/chatwoot", {"Content-Type": "application/json"}),
        ("POST", f"/playground/{tenant.id}", admin),
        ("POST", f"/vectorize/odoo/{_hook_token(cloud, tenant)}", {"Content-Type": "application/json"}),
    ]


def assert_400_naming(response: httpx.Response, context: Any) -> dict[str, Any]:
    assert response.status_code == 400, (context, response.status_code, response.text[:300])
    error: dict[str, Any] = response.json()["error"]
    assert error.get("field"), (context, error)
    return error


def test_hostile_bodies_answer_400_with_a_field_on_every_api(cloud: Any, shop: dict[str, Any]) -> None:
    """On main: deep → 500 on the first seven (the playground and the Odoo hook URL came later); invalid UTF-8 →
    500; a lone surrogate → 500 where it reached DynamoDB or a
    log line; 5,000 digits → 400 without a field."""
    with httpx.Client(base_url=cloud.url, timeout=60) as client:
        for name, body in HOSTILE_BODIES.items():
            for method, path, headers in api_calls(cloud, shop["tenant"]):
                response = client.request(method, path, content=body, headers=headers)
                error = assert_400_naming(response, (name, method, path))
                assert error["field"] == "body", (name, path, error)


def test_mcp_answers_a_jsonrpc_parse_error_not_an_internal_error(cloud: Any, shop: dict[str, Any]) -> None:
    """On main: a deeply nested request answered -32603 (internal error)."""
    headers = {"X-Api-Key": cloud.admin_key, "X-Tenant-Id": shop["tenant"].id, "Content-Type": "application/json",
               "Accept": "application/json, text/event-stream"}
    deep_rpc = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": ' + b"[" * DEEP + b"]" * DEEP + b"}"
    with httpx.Client(base_url=cloud.url, timeout=60) as client:
        for name, body in {**HOSTILE_BODIES, "deep_rpc": deep_rpc}.items():
            response = client.post("/mcp", content=body, headers=headers)
            assert response.status_code == 400, (name, response.status_code, response.text[:300])
            assert response.json()["error"]["code"] == -32700, (name, response.text[:300])
        not_a_request = client.post("/mcp", content=b'[1, 2, "x"]', headers=headers)
        assert not_a_request.status_code == 400
        assert not_a_request.json()["error"]["code"] in (-32600, -32700), not_a_request.text[:300]


@pytest.mark.parametrize("scheme", ["chatwoot", "odoo"])
@pytest.mark.parametrize("stamp", ["9" * 400, "-1" + "0" * 30, "1e9", "12a", "+123", " " * 3, "12345678901234567890"])
def test_a_malformed_timestamp_is_a_400_naming_the_header(cloud: Any, shop: dict[str, Any], scheme: str,
                                                          stamp: str) -> None:
    """On main: 400 digits answered 500 (OverflowError in abs(now - sent_at)); now 400 naming the header. Missing
    stays 401 (not signed)."""
    tenant: Tenant = shop["tenant"]
    if scheme == "chatwoot":
        raw, headers = signed(incoming(tenant.account, 12, 7, 8, "oi"), tenant.secret)
        headers["X-Chatwoot-Timestamp"] = stamp
        path, header_name = "/webhooks/chatwoot", "X-Chatwoot-Timestamp"
    else:
        raw = json.dumps({"delivery_id": "d1", "tenant_id": tenant.id, "documents": {}}).encode()
        headers = {"Content-Type": "application/json", ODOO.timestamp_header: stamp,
                   ODOO.signature_header: sign(shop["odoo_secret"], stamp, raw)}
        path, header_name = "/odoo-webhook", ODOO.timestamp_header
    response = httpx.post(cloud.url + path, content=raw, headers={k: v for k, v in headers.items()
                                                                  if v.strip() or k != header_name}, timeout=30)
    if not stamp.strip():
        assert response.status_code == 401, response.text
        return
    error = assert_400_naming(response, (scheme, stamp))
    assert error["field"] == header_name


# ------------------------------------------------------------------ finding 3: bounds on every model
NONSENSE = [
    ("PUT", "/mapping", {"mappings": [{"chatwoot_account_id": 10**30, "tenant_id": "t_x"}]}, "mappings.0"),
    ("PUT", "/mapping", {"mappings": [{"chatwoot_account_id": 5, "chatwoot_inbox_id": 2**60, "tenant_id": "t_x"}]},
     "mappings.0"),
    ("PUT", "config", {"company": {"name": "Loja\x00Exemplo"}}, "company.name"),
    ("PUT", "config", {"company": {"name": "Loja\x1b[31m"}}, "company.name"),
    ("PUT", "config", {"company": {"name": "Loja"}, "channels": {"whatsapp": {"max_length": -1}}}, "channels"),
    ("PUT", "config", {"company": {"name": "Loja"}, "llm": {"max_calls_per_day": 10**30}}, "llm"),
    ("PUT", "config", {"company": {"name": "Loja"}, "business_hours": {"days": [0] * 10_000}}, "business_hours"),
    ("POST", "/vectorize", {"collection": "products", "records": [{"id": 10**40, "text": "x"}]}, "records.0"),
    ("POST", "/vectorize", {"collection": "products", "records": [{"id": "a\x00b", "text": "x"}]}, "records.0"),
    ("POST", "/vectorize", {"collection": "products", "delete_ids": [-(10**40)]}, "delete_ids"),
    ("POST", "/search", {"collection": "products", "query": "oi\x00"}, "query"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), NONSENSE,
                         ids=[f"{m} {p} {f}" for m, p, _, f in NONSENSE])
def test_nonsense_values_are_refused_naming_the_field(cloud: Any, shop: dict[str, Any], method: str, path: str,
                                                      body: dict[str, Any], field: str) -> None:
    """On main: each of these was stored (200/202), or a 500 later."""
    tenant: Tenant = shop["tenant"]
    if path == "config":
        path = f"/configs/{tenant.id}/default/config"
    elif path in ("/vectorize", "/search"):
        body = {"tenant_id": tenant.id, **body}
    elif path == "/mapping":
        body = {"mappings": [{**m, "tenant_id": tenant.id} for m in body["mappings"]]}
    response = httpx.request(method, cloud.url + path, json=body, headers={"X-Api-Key": cloud.admin_key},
                             timeout=30)
    assert response.status_code == 422, (path, body, response.status_code, response.text[:300])
    assert response.json()["error"]["field"].startswith(field), response.text[:300]


# ------------------------------------------------------------------ the fuzz: the new generators, every API
@st.composite
def hostile_bodies(draw: st.DrawFn) -> bytes:
    """Deep nesting, invalid UTF-8, huge digit strings, NUL and control characters, out-of-range numbers, spliced
    into a plausible body of any of the APIs."""
    base: dict[str, Any] = {"tenant_id": draw(st.sampled_from(["t_x", "loja\x00", "a" * 70])),
                            "collection": "products", "query": "oi", "name": "produtos",
                            "mappings": [{"chatwoot_account_id": 1, "tenant_id": "t_x"}],
                            "company": {"name": "Loja"}, "delivery_id": "d1",
                            "records": [{"id": 1, "text": "x"}], "event": "message_created"}
    kind = draw(st.sampled_from(["deep", "utf8", "digits", "control", "range", "float"]))
    key = draw(st.sampled_from(sorted(base)))
    if kind == "deep":
        depth = draw(st.sampled_from([65, 200, 1_000, 5_000, 50_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        return json.dumps(base).encode()[:-1] + f', "{key}x": '.encode() + \
            (opener * depth + "1" + closer * depth).encode() + b"}"
    if kind == "digits":
        base[key] = int("9" * draw(st.sampled_from([20, 400, 4_000])))
    elif kind == "control":
        base[key] = "x" + draw(st.sampled_from(["\x00", "\x07", "\x1b", "\u2028", "\ufeff"])) + "y"
    elif kind == "range":
        base[key] = draw(st.sampled_from([-(2**63), 2**64, 10**30, -1, 0]))
    elif kind == "float":
        base[key] = draw(st.sampled_from([1e308, -1e308, 5e-324]))
    raw = json.dumps(base).encode()
    if kind == "utf8":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.sampled_from([b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"])) + raw[at:]
    elif kind == "digits" and draw(st.booleans()):
        raw = raw.replace(b"9" * 20, b"9" * 20_000, 1)
    return raw


def test_hostile_fuzz_never_5xx_on_any_api(cloud: Any, shop: dict[str, Any]) -> None:
    tenant: Tenant = shop["tenant"]
    gateway = {"X-Api-Key": cloud.admin_key, "X-Tenant-Id": tenant.id, "Content-Type": "application/json"}
    calls = [*api_calls(cloud, tenant),
             ("POST", "/mcp", {**gateway, "Accept": "application/json, text/event-stream"}),
             ("POST", "/orders", gateway), ("POST", "/customers", gateway),
             ("POST", "/vectorize/sync", {"X-Api-Key": cloud.admin_key}),
             ("POST", f"/configs/{tenant.id}/api-keys", {"X-Api-Key": cloud.admin_key})]
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=cloud.url, timeout=60) as client:

        @settings(max_examples=120, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(raw=hostile_bodies(), call=st.sampled_from(calls))
        def check(raw: bytes, call: tuple[str, str, dict[str, str]]) -> None:
            method, path, headers = call
            if path == "/webhooks/chatwoot":
                raw, headers = signed(raw, tenant.secret)
            response = client.request(method, path, content=raw, headers=headers)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            assert response.status_code < 500, (method, path, raw[:120], response.status_code, response.text[:300])
            if response.status_code >= 400:
                assert "error" in response.json(), response.text[:300]

        check()
    assert 400 in statuses, statuses
