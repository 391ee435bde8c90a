"""POST /odoo-webhook: signed per tenant, validated whole, applied once per delivery id."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from chatwoot_ai.signing import sign

SECRET = "odoo-webhook-secret-0123456789"


@pytest.fixture
def api(cloud: Any, admin_headers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cloud.url, headers=admin_headers, timeout=20) as client:
        yield client


@pytest.fixture
def odoo(cloud: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cloud.url, timeout=20) as client:
        yield client


@pytest.fixture
def tenant(api: httpx.Client, tenant_id: str) -> str:
    """A tenant whose credentials hold its Odoo webhook secret."""
    response = api.put(f"/configs/{tenant_id}/default/credentials",
                       json={"odoo_webhook_secret": SECRET, "odoo_api_key": "odoo-key-original-1234"})
    assert response.status_code == 200
    return tenant_id


def send(odoo: httpx.Client, payload: dict[str, Any], secret: str = SECRET, timestamp: int | None = None,
         signature: str | None = None) -> httpx.Response:
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {"content-type": "application/json", "X-Odoo-Timestamp": stamp,
               "X-Odoo-Signature": signature or sign(secret, stamp, body)}
    return odoo.post("/odoo-webhook", content=body, headers=headers)


def account_for(tenant_id: str) -> int:
    return 700_000 + int(tenant_id[-5:], 16) % 90_000


def delivery(tenant_id: str, **extra: Any) -> dict[str, Any]:
    return {"delivery_id": uuid.uuid4().hex, "tenant_id": tenant_id, **extra}


def test_a_signed_delivery_is_applied_once(api: httpx.Client, odoo: httpx.Client, tenant: str) -> None:
    account = account_for(tenant)
    payload = delivery(tenant, documents={
        "config": {"company": {"name": "Loja pelo Odoo"}, "odoo": {"url": "https://erp.loja.com.br", "db": "loja",
                                                                   "username": "bot@loja.com.br"}},
        "credentials": {"odoo_api_key": "odoo-key-rotated-5678"},
    }, mappings=[{"chatwoot_account_id": account, "chatwoot_inbox_id": 4, "channel": "whatsapp"}])
    first = send(odoo, payload)
    assert first.status_code == 200, first.text
    assert first.json()["duplicate"] is False
    assert sorted((d["config_type"], d["version"]) for d in first.json()["documents"]) == [
        ("config", 1), ("credentials", 2)]

    again = send(odoo, payload)  # Odoo retries the same delivery
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["documents"] == first.json()["documents"]

    assert api.get(f"/configs/{tenant}/default/config").json()["version"] == 1
    credentials = api.get(f"/configs/{tenant}/default/credentials").json()
    assert credentials["version"] == 2 and credentials["data"]["odoo_api_key"] == "****5678"
    assert credentials["data"]["odoo_webhook_secret"] == "****6789"  # merged, not dropped
    mapped = [m for m in api.get("/mapping").json()["mappings"] if m["chatwoot_account_id"] == account]
    assert mapped == [{"chatwoot_account_id": account, "chatwoot_inbox_id": 4, "tenant_id": tenant,
                       "domain": "default", "channel": "whatsapp", "installation": "default"}]


@pytest.mark.parametrize("case", ["wrong secret", "no signature", "old timestamp", "tampered body"])
def test_a_delivery_that_is_not_signed_by_the_tenant_is_refused(
        api: httpx.Client, odoo: httpx.Client, tenant: str, case: str) -> None:
    payload = delivery(tenant, documents={"config": {"company": {"name": "Intrusa"}}})
    if case == "wrong secret":
        response = send(odoo, payload, secret="not-the-secret")
    elif case == "no signature":
        response = odoo.post("/odoo-webhook", json=payload)
    elif case == "old timestamp":
        response = send(odoo, payload, timestamp=int(time.time()) - 3600)
    else:
        body = json.dumps(payload).encode()
        stamp = str(int(time.time()))
        signature = sign(SECRET, stamp, body)
        tampered = body.replace(b"Intrusa", b"Hacker!")
        response = odoo.post("/odoo-webhook", content=tampered,
                             headers={"X-Odoo-Timestamp": stamp, "X-Odoo-Signature": signature})
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    assert api.get(f"/configs/{tenant}/default/config").status_code == 404


def test_an_unknown_tenant_gets_the_same_refusal(odoo: httpx.Client) -> None:
    response = send(odoo, delivery("ninguem-" + uuid.uuid4().hex[:6], documents={"x": {}}))
    assert response.status_code == 401 and response.json()["error"]["message"] == "bad signature"


def test_an_invalid_delivery_writes_nothing_and_can_be_sent_again_fixed(
        api: httpx.Client, odoo: httpx.Client, tenant: str) -> None:
    account = account_for(tenant)
    payload = delivery(tenant, documents={"config": {"company": {"name": "Loja"}, "llm": {"temperature": 9}}},
                       mappings=[{"chatwoot_account_id": account, "chatwoot_inbox_id": 1}])
    response = send(odoo, payload)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "documents.config.llm.temperature"
    assert api.get(f"/configs/{tenant}/default/config").status_code == 404
    assert not [m for m in api.get("/mapping").json()["mappings"] if m["chatwoot_account_id"] == account]

    payload["documents"]["config"]["llm"]["temperature"] = 0.3
    assert send(odoo, payload).json()["duplicate"] is False  # the same delivery id, now valid

    assert send(odoo, delivery(tenant)).status_code == 422  # nothing to apply
    bad_shape = send(odoo, delivery(tenant, mappings=[{"chatwoot_account_id": "um"}]))
    assert bad_shape.status_code == 422 and bad_shape.json()["error"]["field"] == "mappings.0.chatwoot_account_id"


def test_a_tenant_cannot_take_another_tenants_inbox(api: httpx.Client, odoo: httpx.Client, tenant: str) -> None:
    account = account_for(tenant)
    other = "outro-" + uuid.uuid4().hex[:6]
    api.put("/mapping", json={"mappings": [{"chatwoot_account_id": account, "chatwoot_inbox_id": 9,
                                            "tenant_id": other}]})
    response = send(odoo, delivery(tenant, documents={"config": {"company": {"name": "Loja"}}},
                                   mappings=[{"chatwoot_account_id": account, "chatwoot_inbox_id": 9}]))
    assert response.status_code == 403 and response.json()["error"]["field"] == "mappings.0"
    owner = [m for m in api.get("/mapping").json()["mappings"] if m["chatwoot_account_id"] == account]
    assert [m["tenant_id"] for m in owner] == [other]
    assert api.get(f"/configs/{tenant}/default/config").status_code == 404  # whole delivery refused
