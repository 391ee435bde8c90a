"""The business owner's view on the local stack, over HTTP (InsightsApiFunction): traces recorded for answers and
handoffs, the conversations' list and its paging, the numbers per day, and a playground that writes nothing."""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3
import httpx
import pytest
from support.insights_shop import shared_shop

from devtools.doubles import ChatwootStub, LlmStub


@pytest.fixture(scope="module")
def shop(cloud: Any) -> dict[str, Any]:
    return shared_shop(cloud)  # the browser tests read the same shop


def get(cloud: Any, path: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{cloud.url}{path}", headers=headers, timeout=60)


def test_traces_are_recorded_for_answers_and_handoffs(cloud: Any, shop: dict[str, Any]) -> None:
    tenant, account, admin = shop["id"], shop["account"], shop["admin"]
    answered = get(cloud, f"/conversations/{tenant}/{account}/1", admin).json()["turns"]
    assert [t["role"] for t in answered] == ["customer", "assistant"]
    trace = answered[1]["trace"]
    assert answered[0]["trace"] is None and trace["outcome"] == "answered" and trace["channel"] == "whatsapp"
    assert "azul-42" in {s["id"] for s in trace["sources"] if s["collection"] == "products"}
    assert trace["plan"]["specialists"] == ["business_rules", "products"] and trace["plan"]["llm"] is False
    assert "odoo" in trace["plan"]["skipped"] and trace["llm"]["llm_calls"] == 0
    assert trace["reply_ms"] >= 0 and trace["handoff"] is None
    internal = [s for s in trace["sources"] if s["visibility"] == "internal"]
    assert internal and "12%" in internal[0]["excerpt"]  # the admin sees internal excerpts
    from chatwoot_ai.routes.insights import insights_reader

    as_tenant = insights_reader().conversation(tenant, account, 1, redact_internal=True)["turns"][1]["trace"]
    assert [s for s in as_tenant["sources"] if s["id"] == "margem"] == [
        {k: v for k, v in internal[0].items() if k != "excerpt"}]  # a tenant's key: the id, never the text

    asked = get(cloud, f"/conversations/{tenant}/{account}/2", admin).json()["turns"]
    assert asked[-1]["content"] == "Vou chamar uma atendente."
    assert asked[-1]["trace"]["handoff"]["reason"] == "customer_request"
    assert asked[-1]["trace"]["plan"]["specialists"] == []  # no crew ran: the customer's words decided
    unknown = get(cloud, f"/conversations/{tenant}/{account}/3", admin).json()["turns"]
    assert unknown[-1]["trace"]["handoff"]["reason"] == "no_answer"

    # The tenant's TTL (insights.trace_ttl_days = 7): the traces and the day's numbers, not the turns (30 days).
    items = [i for i in _table_items(cloud) if tenant in str(i["pk"])]
    kept = {str(i["sk"]).split("#")[0]: round((int(i["expires_at"]) - time.time()) / 86400) for i in items}
    assert kept["trace"] == 7 and kept["day"] == 7 and kept["turn"] == 30

    missing = get(cloud, f"/conversations/{tenant}/{account}/99", admin)
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "conversation_id"
    other = get(cloud, f"/conversations/t_{uuid.uuid4().hex[:8]}/{account}/1", admin)
    assert other.status_code == 404  # the conversation key holds the tenant: another tenant's id finds nothing


def test_a_tenant_key_sees_its_own_tenant_only_and_internal_sources_as_ids(cloud: Any, shop: dict[str, Any]) -> None:
    """The API with a tenant's own key (issue 16's access.py): its conversations, one with its traces (internal
    sources without their text), its metrics; another tenant's routes 403, a revoked key 401."""
    tenant, account, admin = shop["id"], shop["account"], shop["admin"]
    created = httpx.post(f"{cloud.url}/configs/{tenant}/api-keys", json={"label": "painel"}, headers=admin,
                         timeout=30).json()
    mine = {"X-Api-Key": created["key"]}
    listed = get(cloud, f"/conversations/{tenant}", mine)
    assert listed.status_code == 200
    assert sorted(r["conversation_id"] for r in listed.json()["conversations"]) == [1, 2, 3]
    trace = get(cloud, f"/conversations/{tenant}/{account}/1", mine).json()["turns"][1]["trace"]
    internal = [s for s in trace["sources"] if s["visibility"] == "internal"]
    assert internal and all("excerpt" not in s for s in internal)
    assert "12%" not in str(trace)  # the internal margin rule's text, which the admin sees
    assert get(cloud, f"/metrics/{tenant}?days=3", mine).status_code == 200

    other = f"t_{uuid.uuid4().hex[:8]}"
    for path in (f"/conversations/{other}", f"/conversations/{other}/{account}/1", f"/metrics/{other}?days=3"):
        refused = get(cloud, path, mine)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden", path
    played = httpx.post(f"{cloud.url}/playground/{other}", headers=mine, timeout=60,
                        json={"messages": ["oi"], "channel": "whatsapp"})
    assert played.status_code == 403
    httpx.delete(f"{cloud.url}/configs/{tenant}/api-keys/{created['key_id']}", headers=admin, timeout=30)
    assert get(cloud, f"/conversations/{tenant}", mine).status_code == 401


def test_the_list_pages_and_filters(cloud: Any, shop: dict[str, Any]) -> None:
    tenant, admin = shop["id"], shop["admin"]
    everything = get(cloud, f"/conversations/{tenant}", admin).json()
    rows = everything["conversations"]
    assert sorted(r["conversation_id"] for r in rows) == [1, 2, 3] and everything["next"] is None
    assert [r["last_at"] for r in rows] == sorted((r["last_at"] for r in rows), reverse=True)
    assert {r["conversation_id"]: r["status"] for r in rows} == {1: "bot", 2: "human", 3: "human"}
    assert all(r["turns"] == 2 and r["channel"] == "whatsapp" and r["account_id"] == shop["account"]
               for r in rows)
    first = get(cloud, f"/conversations/{tenant}?limit=2", admin).json()
    assert len(first["conversations"]) == 2 and first["next"]
    second = get(cloud, f"/conversations/{tenant}?limit=2&cursor={first['next']}", admin).json()
    assert len(second["conversations"]) == 1 and second["next"] is None
    seen = [r["conversation_id"] for r in first["conversations"] + second["conversations"]]
    assert sorted(seen) == [1, 2, 3]
    humans = get(cloud, f"/conversations/{tenant}?status=human&limit=1", admin).json()
    page2 = get(cloud, f"/conversations/{tenant}?status=human&limit=1&cursor={humans['next']}", admin).json()
    assert sorted(r["conversation_id"] for r in humans["conversations"] + page2["conversations"]) == [2, 3]
    assert get(cloud, f"/conversations/{tenant}?since=2999-01-01", admin).json()["conversations"] == []
    for query, field in (("status=closed", "status"), ("limit=0", "limit"), ("since=ontem", "since"),
                         ("cursor=abc", "cursor")):
        response = get(cloud, f"/conversations/{tenant}?{query}", admin)
        assert response.status_code == 422 and response.json()["error"]["field"] == field, query
    assert get(cloud, f"/conversations/{tenant}", {}).status_code == 401
    assert get(cloud, f"/conversations/{tenant}", {"X-Api-Key": "errada-errada-errada"}).status_code == 401


def test_metrics_per_day(cloud: Any, shop: dict[str, Any]) -> None:
    body = get(cloud, f"/metrics/{shop['id']}?days=3", shop["admin"]).json()
    assert body["timezone"] == "America/Sao_Paulo" and len(body["days"]) == 3
    today = body["days"][-1]
    assert today["turns"] == 3 and today["answered"] == 1
    assert today["handed_off"] == {"customer_request": 1, "no_answer": 1}
    assert 0 <= today["reply_ms_p50"] <= today["reply_ms_p95"]
    assert today["llm_calls"] == 0 and today["tokens"] == 0
    assert body["days"][0]["turns"] == 0 and body["days"][0]["reply_ms_p50"] is None
    period = body["period"]  # the three days together: here, today's numbers
    assert {k: period[k] for k in today if k != "day"} == {k: v for k, v in today.items() if k != "day"}
    assert get(cloud, f"/metrics/{shop['id']}?days=400", shop["admin"]).status_code == 422


def _table_items(cloud: Any) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb", endpoint_url=cloud.endpoint_url).Table(cloud.stack.refs["HistoryTable"])
    items, start = [], None
    while True:
        page = table.scan(**({"ExclusiveStartKey": start} if start else {}))
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return sorted(items, key=lambda i: (i["pk"], i["sk"]))


def test_the_playground_answers_from_the_tenants_data_and_writes_nothing(cloud: Any, shop: dict[str, Any]) -> None:
    chatwoot: ChatwootStub = shop["chatwoot"]
    before, calls = _table_items(cloud), len(chatwoot.calls)
    url = f"{cloud.url}/playground/{shop['id']}"
    answer = httpx.post(url, headers=shop["admin"], timeout=120, json={
        "messages": ["Qual o preço do tênis azul runner 42?"], "channel": "instagram",
        "history": [{"role": "customer", "content": "oi"}, {"role": "assistant", "content": "Olá!"}]}).json()
    assert "299,90" in answer["answer"] and answer["handoff"] is None
    assert answer["trace"]["channel"] == "instagram" and answer["trace"]["outcome"] == "answered"
    assert "azul-42" in {s["id"] for s in answer["trace"]["sources"]}
    human = httpx.post(url, headers=shop["admin"], timeout=60, json={"messages": ["quero uma atendente"]}).json()
    assert human["answer"] is None and human["handoff"]["reason"] == "customer_request"
    assert human["handoff"]["message"].startswith("Vou chamar uma atendente.")
    assert _table_items(cloud) == before  # no history, no trace, no listing, no day usage
    assert len(chatwoot.calls) == calls  # and Chatwoot heard nothing
    bad = httpx.post(url, headers=shop["admin"], timeout=60, json={"messages": [], "channel": "whatsapp"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "messages"
    assert httpx.post(url, headers=shop["admin"], timeout=60,
                      json={"messages": ["oi"], "channel": "telegram"}).json()["error"]["field"] == "channel"
    assert httpx.post(url, timeout=60, json={"messages": ["oi"]}).status_code == 401
    unknown = httpx.post(f"{cloud.url}/playground/t_{uuid.uuid4().hex[:8]}", headers=shop["admin"], timeout=60,
                         json={"messages": ["oi"]})
    assert unknown.status_code == 404


def test_the_playground_follows_a_config_change_and_shows_the_models_calls(
        cloud: Any, shop: dict[str, Any], llm: LlmStub) -> None:
    """Try, change the config, try again: with an LLM configured the model writes the reply, and the trace counts
    its calls and tokens. Still nothing written. (Last in the module: the shop gets its first config back.)"""
    chatwoot: ChatwootStub = shop["chatwoot"]
    llm.reset()
    llm.on("customer service assistant", answer="Temos sim! O Tênis Azul Runner 42 sai por R$ 299,90.")
    config_url = f"{cloud.url}/configs/{shop['id']}/default/config"
    original = httpx.get(config_url, headers=shop["admin"], timeout=60).json()["data"]
    with_llm = {**original, "llm": {"model": "openai/stub-model", "base_url": llm.base_url, "timeout_s": 10}}
    httpx.put(config_url, json=with_llm, headers=shop["admin"], timeout=60).raise_for_status()
    before, calls = _table_items(cloud), len(chatwoot.calls)
    try:
        deadline = time.monotonic() + 60
        while True:
            body = httpx.post(f"{cloud.url}/playground/{shop['id']}", headers=shop["admin"], timeout=120,
                              json={"messages": ["Quanto custa o tênis azul runner 42?"]}).json()
            if body["trace"]["plan"]["llm"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)  # until the function's config cache has the new version
        assert body["answer"] == "Temos sim! O Tênis Azul Runner 42 sai por R$ 299,90."
        llm_trace = body["trace"]["llm"]
        assert llm_trace["llm_calls"] == 1 and llm_trace["tokens"] > 0
        assert [c["agent"] for c in llm_trace["calls"]] == ["response"]
        assert body["trace"]["plan"]["agents_ran"] == ["response"]
        assert _table_items(cloud) == before and len(chatwoot.calls) == calls  # not even the day's LLM usage
    finally:
        httpx.put(config_url, json=original, headers=shop["admin"], timeout=60).raise_for_status()
