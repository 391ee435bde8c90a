"""The Config API over HTTP on the local stack: versions, If-Match, validation, credentials, mapping, tenant list."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

CONFIG: dict[str, Any] = {
    "company": {"name": "Loja Exemplo", "language": "pt-BR", "timezone": "America/Sao_Paulo"},
    "assistant": {"name": "Ana", "greeting": "Olá! Sou a Ana.", "style": "friendly", "emoji_usage": "moderate"},
    "enabled": True,
    "llm": {"model": None},
}


@pytest.fixture
def api(cloud: Any, admin_headers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cloud.url, headers=admin_headers, timeout=20) as client:
        yield client


def doc_path(tenant_id: str, config_type: str = "config", domain: str = "default") -> str:
    return f"/configs/{tenant_id}/{domain}/{config_type}"


def put(api: httpx.Client, tenant_id: str, data: Any, config_type: str = "config", **headers: str) -> httpx.Response:
    return api.put(doc_path(tenant_id, config_type), json=data, headers=headers)


def with_name(name: str) -> dict[str, Any]:
    return {**CONFIG, "company": {**CONFIG["company"], "name": name}}


def test_each_put_is_a_new_version_and_old_ones_stay_readable(api: httpx.Client, tenant_id: str) -> None:
    first = put(api, tenant_id, with_name("Loja Um"))
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 1 and first.headers["etag"] == '"1"'
    assert put(api, tenant_id, with_name("Loja Dois")).json()["version"] == 2

    latest = api.get(doc_path(tenant_id)).json()
    assert {k: latest[k] for k in ("tenant_id", "domain", "config_type", "version")} == \
        {"tenant_id": tenant_id, "domain": "default", "config_type": "config", "version": 2}
    assert latest["data"]["company"]["name"] == "Loja Dois" and latest["updated_at"].endswith("Z")
    assert api.get(doc_path(tenant_id), params={"version": 1}).json()["data"]["company"]["name"] == "Loja Um"

    versions = api.get(doc_path(tenant_id) + "/versions").json()["versions"]
    assert [v["version"] for v in versions] == [2, 1]

    missing = api.get(doc_path(tenant_id), params={"version": 9})
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "version"
    assert api.get(doc_path(tenant_id, "config", "outro")).status_code == 404
    assert api.get(doc_path(tenant_id, "config", "outro") + "/versions").status_code == 404
    assert api.get(doc_path(tenant_id), params={"version": "abc"}).status_code == 400


def test_if_match_makes_a_put_conditional(api: httpx.Client, tenant_id: str) -> None:
    assert put(api, tenant_id, with_name("Nova"), **{"If-Match": "0"}).json()["version"] == 1  # 0 = create only
    assert put(api, tenant_id, with_name("Outra"), **{"If-Match": "0"}).status_code == 412
    assert put(api, tenant_id, with_name("V2"), **{"If-Match": '"1"'}).json()["version"] == 2
    stale = put(api, tenant_id, with_name("Atrasada"), **{"If-Match": "1"})
    assert stale.status_code == 412
    assert stale.json()["error"] == {"code": "version_conflict", "field": "If-Match",
                                     "message": "If-Match 1 is stale: the current version is 2"}
    assert api.get(doc_path(tenant_id)).json()["data"]["company"]["name"] == "V2"
    assert put(api, tenant_id, with_name("x"), **{"If-Match": "dois"}).status_code == 400
    assert put(api, tenant_id, with_name("V3"), **{"If-Match": "*"}).json()["version"] == 3  # any version
    assert api.put(doc_path(tenant_id, "config", "novo"), json=CONFIG, headers={"If-Match": "*"}).status_code == 412


def test_concurrent_puts_with_the_same_if_match_exactly_one_wins(api: httpx.Client, tenant_id: str) -> None:
    put(api, tenant_id, with_name("Base"))
    statuses: list[int] = []
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        start.wait()
        statuses.append(put(api, tenant_id, with_name(f"Escritor {n}"), **{"If-Match": "1"}).status_code)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [412] * 7
    assert [v["version"] for v in api.get(doc_path(tenant_id) + "/versions").json()["versions"]] == [2, 1]


def test_concurrent_puts_without_if_match_all_land_as_distinct_versions(api: httpx.Client, tenant_id: str) -> None:
    results: list[httpx.Response] = []
    threads = [threading.Thread(target=lambda n=n: results.append(put(api, tenant_id, with_name(f"W{n}"))))
               for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    assert sorted(r.json()["version"] for r in results) == [1, 2, 3, 4, 5, 6]


def test_an_invalid_document_is_rejected_whole_naming_the_field(api: httpx.Client, tenant_id: str) -> None:
    put(api, tenant_id, CONFIG)
    bad = put(api, tenant_id, {**CONFIG, "llm": {"model": "openai/gpt-4o-mini", "temperature": 7}})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "llm.temperature"
    assert put(api, tenant_id, {"assistant": {"name": "Ana"}}).json()["error"]["field"] == "company"
    assert put(api, tenant_id, ["não", "é", "objeto"]).status_code == 422
    not_json = api.put(doc_path(tenant_id), content=b"{ nope", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid_json"
    assert api.get(doc_path(tenant_id)).json()["version"] == 1  # nothing written

    bad_id = api.put("/configs/tenant com espaço/default/config", json=CONFIG)
    assert bad_id.status_code in (400, 404)
    assert api.put(f"/configs/{tenant_id}/default/tipo$ruim", json={}).json()["error"]["field"] == "config_type"


def test_other_types_take_any_json_object(api: httpx.Client, tenant_id: str) -> None:
    response = put(api, tenant_id, {"max_length": 600, "assinatura": "— Equipe"}, "whatsapp")
    assert response.status_code == 200 and response.json()["data"] == {"max_length": 600, "assinatura": "— Equipe"}


def test_credentials_are_never_shown_and_a_put_replaces_only_the_keys_it_sends(
        api: httpx.Client, tenant_id: str, cloud: Any) -> None:
    secrets = {"chatwoot_api_access_token": "cw-token-SECRET-4f2a9b", "odoo_api_key": "odoo-key-SECRET-77c1d3"}
    created = put(api, tenant_id, secrets, "credentials")
    assert created.status_code == 200
    assert created.json()["data"] == {"chatwoot_api_access_token": "****2a9b", "odoo_api_key": "****c1d3"}

    replaced = put(api, tenant_id, {"odoo_api_key": "odoo-key-NEW-a1b2c3d4"}, "credentials")
    assert replaced.json()["version"] == 2
    shown = api.get(doc_path(tenant_id, "credentials")).json()["data"]
    assert shown == {"chatwoot_api_access_token": "****2a9b", "odoo_api_key": "****c3d4"}
    assert api.get(doc_path(tenant_id, "credentials"), params={"version": 1}).json()["data"]["odoo_api_key"] == \
        "****c1d3"
    # the mask sent back keeps the secret; null removes a key
    assert put(api, tenant_id, {"chatwoot_api_access_token": "****2a9b", "odoo_api_key": None},
               "credentials").json()["data"] == {"chatwoot_api_access_token": "****2a9b"}

    everything = [api.get(doc_path(tenant_id, "credentials"), params={"version": n}).text for n in (1, 2, 3)]
    for text in everything:
        assert "SECRET" not in text and "NEW" not in text

    dynamodb = boto3.client("dynamodb", endpoint_url=cloud.endpoint_url, region_name="us-east-1")
    raw = dynamodb.scan(TableName=cloud.stack.refs["ConfigTable"])["Items"]
    stored = [item for item in raw if item.get("tenant_id", {}).get("S") == tenant_id]  # keys and hook tokens have none
    assert len(stored) == 4 and all("data" not in item for item in stored)
    assert all(b"SECRET" not in item["secret"]["B"] for item in stored)  # encrypted at rest (KMS)


def test_management_routes_need_the_admin_key(cloud: Any, tenant_id: str) -> None:
    with httpx.Client(base_url=cloud.url, timeout=10) as anonymous:
        for method, path in [("GET", "/configs"), ("GET", doc_path(tenant_id)), ("PUT", doc_path(tenant_id)),
                             ("GET", doc_path(tenant_id) + "/versions"), ("GET", "/mapping"),
                             ("PUT", "/mapping"), ("DELETE", "/mapping/1/null")]:
            response = anonymous.request(method, path, json={}, headers={"X-Api-Key": "wrong-key"})
            assert response.status_code == 401, (method, path)
            assert response.json()["error"]["code"] == "unauthorized"


def test_the_tenant_list_shows_each_tenant_and_domain_with_its_types(api: httpx.Client, tenant_id: str) -> None:
    put(api, tenant_id, CONFIG)
    put(api, tenant_id, {"odoo_api_key": "abcdefgh12345678"}, "credentials")
    api.put(doc_path(tenant_id, "config", "atacado"), json=CONFIG)
    listed = [t for t in api.get("/configs").json()["tenants"] if t["tenant_id"] == tenant_id]
    assert [(t["domain"], t["config_types"]) for t in listed] == [("atacado", ["config"]),
                                                                  ("default", ["config", "credentials"])]
    assert all(t["updated_at"].endswith("Z") for t in listed)


# ---------------------------------------------------------------- mapping

def account_for(tenant_id: str) -> int:
    return 100_000 + int(tenant_id[-6:], 16) % 800_000


def mine(api: httpx.Client, account: int) -> list[dict[str, Any]]:
    return [m for m in api.get("/mapping").json()["mappings"] if m["chatwoot_account_id"] == account]


def test_mapping_put_upserts_and_never_drops_what_it_was_not_given(api: httpx.Client, tenant_id: str) -> None:
    account = account_for(tenant_id)
    first = api.put("/mapping", json={"mappings": [
        {"chatwoot_account_id": account, "chatwoot_inbox_id": None, "tenant_id": tenant_id},
        {"chatwoot_account_id": account, "chatwoot_inbox_id": 3, "tenant_id": tenant_id, "domain": "atacado",
         "channel": "whatsapp"},
    ]})
    assert first.status_code == 200, first.text
    api.put("/mapping", json={"mappings": [
        {"chatwoot_account_id": account, "chatwoot_inbox_id": 3, "tenant_id": tenant_id, "channel": "instagram"},
        {"chatwoot_account_id": account, "chatwoot_inbox_id": 4, "tenant_id": tenant_id},
    ]})
    entries = mine(api, account)
    assert [(m["chatwoot_inbox_id"], m["domain"], m["channel"]) for m in entries] == [
        (None, "default", None), (3, "default", "instagram"), (4, "default", None)]


def test_mapping_delete_removes_one_entry_and_null_or_star_is_the_account_wide_one(
        api: httpx.Client, tenant_id: str) -> None:
    account = account_for(tenant_id)
    api.put("/mapping", json={"mappings": [
        {"chatwoot_account_id": account, "chatwoot_inbox_id": None, "tenant_id": tenant_id},
        {"chatwoot_account_id": account, "chatwoot_inbox_id": 8, "tenant_id": tenant_id}]})
    assert api.delete(f"/mapping/{account}/8").json()["deleted"]["chatwoot_inbox_id"] == 8
    assert [m["chatwoot_inbox_id"] for m in mine(api, account)] == [None]
    assert api.delete(f"/mapping/{account}/8").status_code == 404
    assert api.delete(f"/mapping/{account}/null").status_code == 200
    assert mine(api, account) == []
    api.put("/mapping", json={"mappings": [{"chatwoot_account_id": account, "tenant_id": tenant_id}]})
    assert api.delete(f"/mapping/{account}/*").status_code == 200
    assert api.delete(f"/mapping/{account}/abc").status_code == 400


@pytest.mark.parametrize("body, field", [
    ({"mappings": [{"chatwoot_account_id": 1, "tenant_id": "tem espaço"}]}, "mappings.0.tenant_id"),
    ({"mappings": [{"chatwoot_account_id": 0, "tenant_id": "t"}]}, "mappings.0.chatwoot_account_id"),
    ({"mappings": [{"chatwoot_account_id": 1, "tenant_id": "t", "channel": "telegram"}]}, "mappings.0.channel"),
    ({"mappings": [{"chatwoot_account_id": 1, "tenant_id": "t"}, {"chatwoot_account_id": 1, "tenant_id": "u"}]},
     "mappings.1"),
    ({"mappings": []}, "mappings"),
])
def test_a_bad_mapping_put_writes_nothing_and_names_the_field(
        api: httpx.Client, body: dict[str, Any], field: str) -> None:
    before = api.get("/mapping").json()
    response = api.put("/mapping", json=body)
    assert response.status_code == 422 and response.json()["error"]["field"] == field
    assert api.get("/mapping").json() == before
