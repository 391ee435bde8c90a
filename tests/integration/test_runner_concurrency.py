"""Concurrent invocations of different tenants never see each other's data (issue: a tenant's config was stored with
another tenant's body). A fresh stack, so the first round lands on cold functions, as `make run`'s demo seed and a
user's first request do; then warm rounds. Each function runs one invocation per execution environment at a time."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.tenants import wait_job

from devtools.doubles import OdooDouble
from localcloud.cloud import LocalCloud

ADMIN = "concurrency-admin-key-0123456789"
HEADERS = {"X-Api-Key": ADMIN}
ROUNDS = 50


@pytest.fixture(scope="module")
def fresh_cloud(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    cloud = LocalCloud(endpoint_url=moto_endpoint, admin_key=ADMIN, data_dir=tmp_path_factory.mktemp("fresh"),
                       stack_name="cc-" + uuid.uuid4().hex[:6])
    cloud.start()
    yield cloud
    cloud.stop()


def _in_parallel(calls: list[Any]) -> list[Any]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def _config(name: str, odoo_url: str, db: str, username: str) -> dict[str, Any]:
    return {"company": {"name": name}, "enabled": True, "odoo": {"url": odoo_url, "db": db, "username": username}}


def _put(cloud: LocalCloud, tenant: str, config_type: str, body: dict[str, Any]) -> int:
    url = f"{cloud.url}/configs/{tenant}/default/{config_type}"
    return httpx.put(url, json=body, headers=HEADERS, timeout=120).status_code


def _get(cloud: LocalCloud, tenant: str) -> dict[str, Any]:
    return httpx.get(f"{cloud.url}/configs/{tenant}/default/config", headers=HEADERS, timeout=30).json()["data"]


def test_concurrent_puts_of_different_tenants_each_store_their_own_body(fresh_cloud: LocalCloud) -> None:
    """The reproduction: the demo seed's PUT and another tenant's PUT in flight together, from the cold start on."""
    mixed: list[str] = []
    for round_number in range(ROUNDS):
        suffix = f"{round_number}_{uuid.uuid4().hex[:4]}"
        tenants = {
            f"demo_{suffix}": _config("Sandra Cosméticos", "http://127.0.0.1:1", "demo", "bot@example.com"),
            f"erp_a_{suffix}": _config("ERP A", "http://127.0.0.1:2", "loja", "bot@loja.example"),
            f"erp_b_{suffix}": _config("ERP B", "http://127.0.0.1:3", "outra", "bot@outra.example"),
        }
        statuses = _in_parallel([lambda t=t, b=b: _put(fresh_cloud, t, "config", b) for t, b in tenants.items()])
        assert statuses == [200] * len(tenants)
        read = _in_parallel([lambda t=t: _get(fresh_cloud, t) for t in tenants])  # reads overlap too
        for (tenant, body), stored in zip(tenants.items(), read, strict=True):
            if stored["company"] != body["company"] or stored["odoo"] != body["odoo"]:
                mixed.append(f"round {round_number}: {tenant} holds {stored['company']['name']}")
    assert mixed == [], f"{len(mixed)} of {ROUNDS * 3} documents hold another tenant's body: {mixed[:5]}"
    assert len(fresh_cloud.function("ConfigApiFunction").environments) > 1  # the overlap did get environments


@pytest.fixture(scope="module")
def two_odoos() -> Iterator[tuple[OdooDouble, OdooDouble]]:
    with OdooDouble(db="loja", username="bot@loja.example", api_key="loja-key-0123456789") as first, \
            OdooDouble(db="outra", username="bot@outra.example", api_key="outra-key-0123456789") as second:
        yield first, second


def test_concurrent_gateway_calls_of_two_tenants_use_each_tenants_odoo(
        fresh_cloud: LocalCloud, two_odoos: tuple[OdooDouble, OdooDouble]) -> None:
    tenants = {}
    for odoo in two_odoos:
        tenant = "gw_" + uuid.uuid4().hex[:8]
        assert _put(fresh_cloud, tenant, "config", _config(tenant, odoo.url, odoo.db, odoo.username)) == 200
        assert _put(fresh_cloud, tenant, "credentials", {"odoo_api_key": odoo.api_key}) == 200
        tenants[tenant] = odoo
    calls_before = {odoo.db: sum(odoo.calls.values()) for odoo in two_odoos}

    def products(tenant: str) -> httpx.Response:
        return httpx.get(f"{fresh_cloud.url}/products", params={"q": "protetor", "limit": 2},
                         headers={**HEADERS, "X-Tenant-Id": tenant}, timeout=60)

    for _round in range(10):
        calls = [lambda t=t: products(t) for t in tenants for _ in range(3)]
        responses = _in_parallel(calls)
        assert [r.status_code for r in responses] == [200] * len(calls), [r.text for r in responses][:2]
    for odoo in two_odoos:  # each tenant's calls reached its own Odoo (a crossed login would be refused: 502)
        assert sum(odoo.calls.values()) > calls_before[odoo.db]


@pytest.mark.slow
def test_concurrent_vectorize_and_search_of_two_tenants_stay_apart(fresh_cloud: LocalCloud, tmp_path: Path) -> None:
    tenants: dict[str, dict[str, str]] = {}
    for name, product in (("a", "Protetor Solar FPS 50 da loja A. Preço: R$ 89,90."),
                          ("b", "Protetor Solar FPS 30 da loja B. Preço: R$ 49,90.")):
        tenant = f"vz_{name}_" + uuid.uuid4().hex[:6]
        token = secrets.token_urlsafe(24)
        assert _put(fresh_cloud, tenant, "credentials", {"vectorize_token": token}) == 200
        tenants[tenant] = {"token": token, "text": product}

    def vectorize(tenant: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {tenants[tenant]['token']}"}
        response = httpx.post(f"{fresh_cloud.url}/vectorize", headers=headers, timeout=120, json={
            "tenant_id": tenant, "collection": "products",
            "records": [{"id": f"{tenant}-1", "text": tenants[tenant]["text"]}]})
        assert response.status_code == 202, response.text
        return wait_job(fresh_cloud, response.json()["job_id"], headers)

    jobs = _in_parallel([lambda t=t: vectorize(t) for t in tenants])
    assert [job["status"] for job in jobs] == ["done", "done"]

    def search(tenant: str) -> list[str]:
        headers = {"Authorization": f"Bearer {tenants[tenant]['token']}"}
        response = httpx.post(f"{fresh_cloud.url}/search", headers=headers, timeout=60,
                              json={"tenant_id": tenant, "collection": "products", "query": "protetor solar"})
        assert response.status_code == 200, response.text
        return [hit["id"] for hit in response.json()["results"]]

    for _round in range(5):
        order = [t for t in tenants for _ in range(3)]
        found = _in_parallel([lambda t=t: search(t) for t in order])
        for tenant, ids in zip(order, found, strict=True):
            assert ids == [f"{tenant}-1"], (tenant, ids)


def test_log_lines_name_the_function_that_wrote_them(fresh_cloud: LocalCloud) -> None:
    """Each environment is its own process, so Powertools' logger there carries its own function's name only."""
    seen: list[tuple[str, str]] = []

    def listen(function: str, line: str) -> None:
        seen.append((function, line))

    fresh_cloud.log_listeners.append(listen)
    try:
        tenant = "logs_" + uuid.uuid4().hex[:6]
        assert _put(fresh_cloud, tenant, "config", _config("Loja Log", "http://127.0.0.1:1", "db", "u")) == 200
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(f == "ConfigStreamFunction" for f, _ in seen):
            time.sleep(0.1)  # the stream's function logs the event it published
    finally:
        fresh_cloud.log_listeners.remove(listen)
    named = [(function, json.loads(line)["function_name"]) for function, line in seen
             if line.startswith("{") and "function_name" in line]
    assert {"ConfigApiFunction", "ConfigStreamFunction"} <= {function for function, _ in named}
    assert all(function == name for function, name in named), [p for p in named if p[0] != p[1]][:3]
