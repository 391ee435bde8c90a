"""Bad input: schemathesis against the Config, Vectorize and Odoo gateway APIs, and a fuzz of the Chatwoot webhook
body. Whatever arrives: no 5xx, a JSON error body, and no secret in any response or log line.

Specs: the Odoo gateway is FastAPI, so its own `app.openapi()` is used. The Config and Vectorize APIs are Powertools
resolvers whose routes return `Response` objects, and `app.get_openapi_json_schema()` cannot describe those (pydantic
raises on `Response`), so `powertools_spec` builds a minimal OpenAPI 3.1 document from the resolver's own route table
with the request models' JSON schemas where the handler parses one. Requests still go over HTTP through the runner.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability.load_driver import Tenant, make_tenants

from devtools.chatwoot_payloads import incoming, signed
from devtools.doubles import ChatwootStub, OdooDouble

EXAMPLES = 20  # per operation
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


class Captured:
    """Every log line the stack's functions write (each function runs in processes of its own: the runner hands
    their output to listeners), at DEBUG, so nothing a function says escapes the check."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, function: str, line: str) -> None:
        self.lines.append(line)


@pytest.fixture(scope="module")
def logs(cloud: Any) -> Iterator[Captured]:
    captured = Captured()
    with cloud.environment_changed({"LOG_LEVEL": "DEBUG"}):
        cloud.log_listeners.append(captured)
        yield captured
        cloud.log_listeners.remove(captured)


@pytest.fixture(scope="module")
def secrets_env(cloud: Any) -> Iterator[dict[str, Any]]:
    """Two tenants with every kind of secret, a Chatwoot stub and an Odoo double behind them."""
    with ChatwootStub() as stub, OdooDouble(version=18) as odoo:
        tenants = make_tenants(cloud.url, cloud.admin_key, stub.url, 2)
        admin = {"X-Api-Key": cloud.admin_key}
        extra = {}
        for tenant in tenants:
            extra[tenant.id] = {"odoo_api_key": odoo.api_key, "llm_api_key": "sk-" + uuid.uuid4().hex,
                                "vectorize_token": "vt-" + uuid.uuid4().hex,
                                "odoo_webhook_secret": "ows-" + uuid.uuid4().hex,
                                "chatwoot_webhook_secret": tenant.secret,
                                "chatwoot_api_access_token": tenant.token}
            httpx.put(f"{cloud.url}/configs/{tenant.id}/default/credentials", json=extra[tenant.id], headers=admin,
                      timeout=30).raise_for_status()
            config = {"company": {"name": "Loja Fuzz"}, "enabled_collections": [],
                      "chatwoot": {"base_url": stub.url}, "handoff": {"keywords": [], "message": "Já volto."},
                      "odoo": {"url": odoo.url, "db": odoo.db, "username": odoo.username}}
            httpx.put(f"{cloud.url}/configs/{tenant.id}/default/config", json=config, headers=admin,
                      timeout=30).raise_for_status()
        secret_values = {v for creds in extra.values() for k, v in creds.items() if k != "odoo_api_key"}
        secret_values.add(odoo.api_key)
        yield {"tenants": tenants, "secrets": secret_values, "stub": stub, "odoo": odoo, "creds": extra}


def assert_clean(response: httpx.Response | Any, secret_values: set[str], logs: Captured, context: Any) -> None:
    assert response.status_code < 500, (context, response.status_code, response.text[:300])
    text = response.text
    for secret in secret_values:
        assert secret not in text, (context, "secret in the response")
    if response.status_code >= 400 and text:
        assert "error" in json.loads(text), (context, text[:300])


def assert_logs_clean(logs: Captured, secret_values: set[str], expect_lines: bool = False) -> None:
    assert logs.lines or not expect_lines, "nothing was logged: the capture is not working"
    leaks = [line for line in logs.lines for secret in secret_values if secret in line]
    assert leaks == [], leaks[:3]
    assert not [line for line in logs.lines if '"level":"ERROR"' in line and "unhandled" in line], "a 500 was hidden"


# ------------------------------------------------------------------ specs
def _model_schema(model: Any) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return schema


def powertools_spec(app: Any, bodies: dict[str, Any]) -> dict[str, Any]:
    """A minimal OpenAPI 3.1 document from a Powertools resolver's own routes: path parameters as strings, and a
    JSON body (the model's schema where the handler parses one, any object otherwise) for POST/PUT."""
    paths: dict[str, Any] = {}
    components: dict[str, Any] = {}
    for route in app._static_routes + app._dynamic_routes:
        path, method = route.openapi_path, route.method.upper()
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
                  for name in re.findall(r"\{([^}]+)\}", path)]
        operation: dict[str, Any] = {"parameters": params, "responses": {"default": {"description": "any"}}}
        if method in ("POST", "PUT"):
            model = bodies.get(f"{method} {path}")
            schema: dict[str, Any] = {"type": "object"}
            if model is not None:
                schema = _model_schema(model)
                components.update(schema.pop("$defs", {}))
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
        paths.setdefault(path, {})[method.lower()] = operation
    return {"openapi": "3.1.0", "info": {"title": "spec", "version": "1"}, "paths": paths,
            "components": {"schemas": components}}


def run_schema(spec: dict[str, Any], base_url: str, headers: dict[str, str], secret_values: set[str],
               logs: Captured) -> int:
    schema = schemathesis.openapi.from_dict(spec)
    calls = 0
    operations = 0
    for result in schema.get_all_operations():
        operations += 1
        operation = result.ok()  # type: ignore[union-attr]  # an Err (unusable spec) fails the test here

        @SETTINGS
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            nonlocal calls
            response = case.call(base_url=base_url, headers=headers, timeout=30)
            calls += 1
            assert_clean(response, secret_values, logs, (case.method, case.formatted_path, case.body))

        check()
    # Operations without parameters or body have one possible request; hypothesis stops there.
    assert operations >= 5 and calls >= 2 * operations, (operations, calls)
    return calls


def test_config_api_survives_schemathesis(cloud: Any, secrets_env: dict[str, Any], logs: Captured) -> None:
    import config_api

    from chatwoot_ai.models import TenantConfig
    from chatwoot_ai.routes.configs import MappingsBody

    spec = powertools_spec(config_api.app, {"PUT /mapping": MappingsBody,
                                            "PUT /configs/{tenant_id}/{domain}/{config_type}": TenantConfig})
    assert len(spec["paths"]) >= 5, spec["paths"].keys()
    calls = run_schema(spec, cloud.url, {"X-Api-Key": cloud.admin_key}, secrets_env["secrets"], logs)
    assert calls >= 40, calls
    assert_logs_clean(logs, secrets_env["secrets"])


def test_vectorize_api_survives_schemathesis(cloud: Any, secrets_env: dict[str, Any], logs: Captured) -> None:
    import vectorize_api

    from chatwoot_ai.vector.models import CollectionRequest, SearchRequest, SyncRequest, VectorizeRequest

    spec = powertools_spec(vectorize_api.app, {"POST /vectorize": VectorizeRequest, "POST /search": SearchRequest,
                            "POST /vectorize/sync": SyncRequest, "POST /collections": CollectionRequest})
    assert len(spec["paths"]) >= 5, spec["paths"].keys()
    tenant: Tenant = secrets_env["tenants"][0]
    # As a tenant (its own token), the riskier caller.
    headers = {"Authorization": f"Bearer {secrets_env['creds'][tenant.id]['vectorize_token']}"}
    calls = run_schema(spec, cloud.url, headers, secrets_env["secrets"], logs)
    assert calls >= 40, calls
    assert_logs_clean(logs, secrets_env["secrets"])


def test_odoo_gateway_survives_schemathesis(cloud: Any, secrets_env: dict[str, Any], logs: Captured) -> None:
    import odoo_gateway

    spec = odoo_gateway.app.openapi()
    assert {"/products", "/orders", "/customers"} <= set(spec["paths"])
    tenant: Tenant = secrets_env["tenants"][0]
    headers = {"X-Api-Key": cloud.admin_key, "X-Tenant-Id": tenant.id}
    calls = run_schema(spec, cloud.url, headers, secrets_env["secrets"], logs)
    assert calls >= 40, calls
    assert_logs_clean(logs, secrets_env["secrets"])


# ------------------------------------------------------------------ the webhook body
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**64) | st.floats(allow_nan=False)
    | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
FIELDS = ["event", "id", "content", "message_type", "private", "account", "inbox", "conversation", "sender",
          "content_attributes", "source_id", "created_at"]


@st.composite
def webhook_bodies(draw: st.DrawFn, account: int) -> bytes:
    payload: dict[str, Any] = incoming(account, 12, draw(st.integers(1, 10**6)), draw(st.integers(1, 10**9)), "oi")
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        action = draw(st.sampled_from(["drop", "retype", "huge"]))
        if action == "drop":
            payload.pop(name, None)
        elif action == "retype":
            payload[name] = draw(JSON_VALUES)
        else:
            payload[name] = "ã" * draw(st.sampled_from([10_000, 100_000, 200_000]))
    if draw(st.booleans()) and isinstance(payload.get("conversation"), dict):
        payload["conversation"][draw(st.sampled_from(["id", "status", "inbox_id", "account"]))] = draw(JSON_VALUES)
    raw = json.dumps(payload, ensure_ascii=False).encode()
    mangle = draw(st.sampled_from(["none", "none", "invalid_utf8", "truncate", "not_object", "empty"]))
    if mangle == "invalid_utf8":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + b"\xff\xfe\xc3(" + raw[at:]
    elif mangle == "truncate":
        raw = raw[: draw(st.integers(0, max(0, len(raw) - 1)))]
    elif mangle == "not_object":
        raw = json.dumps(draw(JSON_VALUES)).encode()
    elif mangle == "empty":
        raw = b""
    return raw


def test_webhook_body_fuzz_never_500s_and_never_leaks(cloud: Any, secrets_env: dict[str, Any], logs: Captured) -> None:
    tenant: Tenant = secrets_env["tenants"][0]
    statuses: dict[int, int] = {}
    with httpx.Client(timeout=30) as client:

        @settings(max_examples=150, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(raw=webhook_bodies(tenant.account), sign=st.booleans())
        def check(raw: bytes, sign: bool) -> None:
            body, headers = signed(raw, tenant.secret if sign else "not-the-secret")
            response = client.post(f"{cloud.url}/webhooks/chatwoot", content=body, headers=headers)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            assert_clean(response, secrets_env["secrets"], logs, body[:200])

        check()
    assert {200, 400} <= set(statuses), statuses  # both accepted and refused bodies were generated
    # Let the worker answer what was queued while this module's Chatwoot stub still listens (and its logs are checked).
    stub: ChatwootStub = secrets_env["stub"]
    deadline, seen = time.monotonic() + 30, -1
    while time.monotonic() < deadline and len(stub.calls) != seen:
        seen = len(stub.calls)
        time.sleep(3)
    assert_logs_clean(logs, secrets_env["secrets"], expect_lines=True)
