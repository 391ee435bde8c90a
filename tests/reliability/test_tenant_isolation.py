"""Tenant isolation of the mapping (issue 16, findings 1 and 7), through the local stack over HTTP.

Finding 1: tenant A, with its own valid `odoo_webhook_secret`, claimed inbox 91 of an account tenant B maps
account-wide: 200 on main, and the inbox-specific entry then won lookups, so B's webhooks on that inbox were checked
against A's secret and refused (401). The claim check compared the exact (account, inbox) key only. Now an account
belongs to one tenant: 403 from /odoo-webhook, 409 from admin PUT /mapping unless ?force=true, both directions.

Finding 7: mappings were keyed by account id alone, so two Chatwoot servers that both have account N could not serve
two tenants. Now `installation` (the path segment of /webhooks/chatwoot/{installation}; the old URL is "default")
is part of the key. On main, a mapping with `installation` was a 422 and the route a 404.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from chatwoot_ai.signing import ODOO, sign
from devtools.chatwoot_payloads import incoming, signed
from devtools.doubles import ChatwootStub

_ids = iter(range(int(time.time()) % 100_000 * 1000 + 700_000_000, 10**12))


@dataclass
class Shop:
    id: str
    secret: str
    odoo_secret: str


@pytest.fixture(scope="module")
def stub() -> Iterator[ChatwootStub]:
    with ChatwootStub() as chatwoot:
        yield chatwoot


def new_shop(cloud: Any, stub: ChatwootStub, name: str) -> Shop:
    shop = Shop("t_iso_" + uuid.uuid4().hex[:8], secrets.token_urlsafe(16), "ows-" + secrets.token_urlsafe(16))
    admin = {"X-Api-Key": cloud.admin_key}
    config = {"company": {"name": name}, "enabled_collections": [], "chatwoot": {"base_url": stub.url},
              "handoff": {"keywords": [], "message": "Já chamo alguém."}}
    credentials = {"chatwoot_webhook_secret": shop.secret, "chatwoot_api_access_token": "cw-" + uuid.uuid4().hex,
                   "odoo_webhook_secret": shop.odoo_secret}
    for kind, body in (("config", config), ("credentials", credentials)):
        httpx.put(f"{cloud.url}/configs/{shop.id}/default/{kind}", json=body, headers=admin,
                  timeout=30).raise_for_status()
    return shop


def put_mapping(cloud: Any, shop: Shop, account: int, inbox: int | None, query: str = "",
                **extra: Any) -> httpx.Response:
    entry = {"chatwoot_account_id": account, "chatwoot_inbox_id": inbox, "tenant_id": shop.id, **extra}
    return httpx.put(f"{cloud.url}/mapping{query}", json={"mappings": [entry]},
                     headers={"X-Api-Key": cloud.admin_key}, timeout=30)


def odoo_claim(cloud: Any, shop: Shop, account: int, inbox: int | None) -> httpx.Response:
    body = json.dumps({"delivery_id": uuid.uuid4().hex, "tenant_id": shop.id,
                       "mappings": [{"chatwoot_account_id": account, "chatwoot_inbox_id": inbox}]}).encode()
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", ODOO.timestamp_header: stamp,
               ODOO.signature_header: sign(shop.odoo_secret, stamp, body)}
    return httpx.post(f"{cloud.url}/odoo-webhook", content=body, headers=headers, timeout=30)


def webhook(cloud: Any, secret: str, account: int, inbox: int, path: str = "/webhooks/chatwoot") -> httpx.Response:
    raw, headers = signed(incoming(account, inbox, next(_ids), next(_ids), "Olá, tudo bem?"), secret)
    return httpx.post(cloud.url + path, content=raw, headers=headers, timeout=30)


def assert_served(response: httpx.Response) -> None:
    assert (response.status_code, response.json().get("status")) == (200, "queued"), response.text


def eventually_served(cloud: Any, secret: str, account: int, inbox: int) -> None:
    """After a mapping change: warm receivers apply it on its ConfigChanged event, or at their next revalidation
    (CONFIG_MAX_STALENESS_S, 5 s): poll, a new message each time."""
    deadline = time.monotonic() + 30
    while True:
        response = webhook(cloud, secret, account, inbox)
        if (response.status_code == 200 and response.json().get("status") == "queued") or time.monotonic() > deadline:
            return assert_served(response)
        time.sleep(0.5)


def test_a_tenant_cannot_claim_an_inbox_of_an_account_another_tenant_maps_account_wide(
        cloud: Any, stub: ChatwootStub) -> None:
    """A claims inbox 91 of B's account-wide account. On main: 200, then B's webhook on inbox 91 got 401."""
    victim, thief = new_shop(cloud, stub, "Loja Vítima"), new_shop(cloud, stub, "Loja Ladra")
    account = 800_000 + secrets.randbelow(99_999)
    put_mapping(cloud, victim, account, None).raise_for_status()

    refused = odoo_claim(cloud, thief, account, 91)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["field"] == "mappings.0"
    conflict = put_mapping(cloud, thief, account, 91)
    assert conflict.status_code == 409, conflict.text
    assert conflict.json()["error"] == {"code": "mapping_conflict", "field": "mappings.0",
                                        "message": conflict.json()["error"]["message"]}
    assert victim.id in conflict.json()["error"]["message"]

    assert_served(webhook(cloud, victim.secret, account, 91))  # the victim is still served, with its own secret
    assert webhook(cloud, thief.secret, account, 91).status_code == 401
    mappings = httpx.get(f"{cloud.url}/mapping", headers={"X-Api-Key": cloud.admin_key}, timeout=30).json()
    assert [m["tenant_id"] for m in mappings["mappings"] if m["chatwoot_account_id"] == account] == [victim.id]

    # The operator can still move an inbox on purpose.
    forced = put_mapping(cloud, thief, account, 91, "?force=true")
    assert forced.status_code == 200, forced.text
    eventually_served(cloud, thief.secret, account, 91)
    assert_served(webhook(cloud, victim.secret, account, 92))


def test_a_tenant_cannot_claim_an_account_another_tenant_maps_inbox_by_inbox(cloud: Any, stub: ChatwootStub) -> None:
    """B claims another inbox (or the whole account) of an account A maps inbox-specifically. On main: 200 for both;
    the account-wide claim then took every inbox of A's account that A had not listed."""
    owner, other = new_shop(cloud, stub, "Loja Dona"), new_shop(cloud, stub, "Loja Outra")
    account = 900_000 + secrets.randbelow(99_999)
    put_mapping(cloud, owner, account, 91).raise_for_status()

    for inbox in (92, None):
        refused = odoo_claim(cloud, other, account, inbox)
        assert refused.status_code == 403, (inbox, refused.text)
        assert put_mapping(cloud, other, account, inbox).status_code == 409
    assert_served(webhook(cloud, owner.secret, account, 91))

    # The owner itself may add inboxes of its own account, through Odoo and through the admin API.
    assert odoo_claim(cloud, owner, account, 93).status_code == 200
    assert put_mapping(cloud, owner, account, None).status_code == 200
    eventually_served(cloud, owner.secret, account, 94)


def test_two_chatwoot_installations_with_the_same_account_id_serve_two_tenants(cloud: Any, stub: ChatwootStub) -> None:
    """Account N on the default installation is tenant D's; account N on installation "filial" is tenant F's.
    On main: the `installation` field was refused (422) and /webhooks/chatwoot/filial did not exist (404)."""
    default_shop, branch = new_shop(cloud, stub, "Loja Matriz"), new_shop(cloud, stub, "Loja Filial")
    account = 700_000 + secrets.randbelow(99_999)
    put_mapping(cloud, default_shop, account, None).raise_for_status()
    stored = put_mapping(cloud, branch, account, None, installation="filial")
    assert stored.status_code == 200, stored.text  # not a conflict: another installation's account

    assert_served(webhook(cloud, default_shop.secret, account, 12))
    assert_served(webhook(cloud, branch.secret, account, 12, "/webhooks/chatwoot/filial"))
    assert webhook(cloud, branch.secret, account, 12).status_code == 401  # the old URL is the default installation
    assert webhook(cloud, default_shop.secret, account, 12, "/webhooks/chatwoot/filial").status_code == 401
    unknown = webhook(cloud, branch.secret, account, 12, "/webhooks/chatwoot/outra")
    assert unknown.json()["reason"] == "unknown inbox"
    assert webhook(cloud, branch.secret, account, 12, "/webhooks/chatwoot/N%C3%83O").status_code == 400

    listed = httpx.get(f"{cloud.url}/mapping", headers={"X-Api-Key": cloud.admin_key}, timeout=30).json()
    mine = {(m["installation"], m["tenant_id"]) for m in listed["mappings"] if m["chatwoot_account_id"] == account}
    assert mine == {("default", default_shop.id), ("filial", branch.id)}

    # Stored data keeps its key: the default installation's item is still ACCOUNT#<id>.
    table = cloud.stack.client("dynamodb")
    name = cloud.stack.refs["MappingTable"]
    assert table.get_item(TableName=name, Key={"pk": {"S": f"ACCOUNT#{account}"}, "sk": {"S": "INBOX#*"}})["Item"]
    assert table.get_item(TableName=name, Key={"pk": {"S": f"ACCOUNT#filial#{account}"}, "sk": {"S": "INBOX#*"}}
                          )["Item"]["tenant_id"]["S"] == branch.id

    # Delete names the installation; the default one is untouched.
    gone = httpx.delete(f"{cloud.url}/mapping/{account}/null?installation=filial",
                        headers={"X-Api-Key": cloud.admin_key}, timeout=30)
    assert gone.status_code == 200 and gone.json()["deleted"]["tenant_id"] == branch.id
    assert_served(webhook(cloud, default_shop.secret, account, 12))
