"""The conversation pipeline end to end on the local stack, over HTTP: a signed Chatwoot webhook → receiver → FIFO
queue → worker → crew (real crewai against the LLM stub, retrieval from Qdrant) → reply recorded by the Chatwoot stub.

Tenants, credentials and mappings are written through the Config API, products through POST /vectorize, as an
operator and Odoo would."""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.tenants import wait_job
from support.webhook_fixtures import conversations_drained, deliver, queued

from devtools.chatwoot_payloads import echo, incoming, signed
from devtools.doubles import ChatwootStub, LlmStub

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

INTENT = json.dumps({"intent": "product", "language": "pt-BR", "wants_human": False, "confidence": 0.9})


def quote_excerpts(prompt: str, _request: dict[str, Any]) -> str:
    lines = [line.split("] ", 1)[1] for line in prompt.splitlines() if re.match(r"^\[\d+\] ", line)]
    return "\n".join(f"- {line}" for line in lines) or "NONE"


def answer_from_facts(prompt: str, _request: dict[str, Any]) -> str:
    facts = prompt.split("the only facts you may state):", 1)[-1]
    first = next((re.sub(r"^(- |\[\d+\] )", "", line) for line in facts.splitlines()
                  if re.match(r"^(- |\[\d+\] )", line)), "")
    return f"Olá! {first}".strip()


@pytest.fixture(scope="module")
def llm() -> Iterator[LlmStub]:
    with LlmStub() as stub:
        stub.on("Intention analyst", answer=INTENT)
        stub.on("specialist at", answer=quote_excerpts)
        stub.on("customer service assistant", answer=answer_from_facts)
        yield stub


def make_tenant(cloud: Any, admin_headers: dict[str, str], llm: LlmStub, chatwoot: ChatwootStub, name: str,
                products: list[str], with_llm: bool = True, **config_extra: Any) -> dict[str, Any]:
    tenant_id = "t_" + uuid.uuid4().hex[:10]
    account_id = 100_000 + secrets.randbelow(800_000)
    secret, token = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    config: dict[str, Any] = {
        "company": {"name": name, "language": "pt-BR"},
        "assistant": {"name": "Ana", "style": "friendly", "emoji_usage": "low"},
        "enabled_collections": ["products"],
        "chatwoot": {"base_url": chatwoot.url},
        "llm": {"model": "openai/stub-model", "base_url": llm.base_url, "timeout_s": 10},
        "handoff": {"keywords": ["atendente", "humano"], "message": "Vou chamar um atendente para você."},
        **config_extra,
    }
    if not with_llm:
        config.pop("llm")  # no LLM: answers come from retrieval alone
    base = f"{cloud.url}/configs/{tenant_id}/default"
    for kind, body in (("config", config),
                       ("credentials", {"chatwoot_webhook_secret": secret, "chatwoot_api_access_token": "cw-" + token,
                                        "llm_api_key": "sk-" + token, "vectorize_token": token})):
        response = httpx.put(f"{base}/{kind}", json=body, headers=admin_headers, timeout=30)
        assert response.status_code in (200, 201), response.text
    mapping = {"mappings": [{"chatwoot_account_id": account_id, "chatwoot_inbox_id": 12, "tenant_id": tenant_id,
                             "domain": "default", "channel": "whatsapp"}]}
    response = httpx.put(f"{cloud.url}/mapping", json=mapping, headers=admin_headers, timeout=30)
    assert response.status_code in (200, 201), response.text
    if products:
        headers = {"Authorization": f"Bearer {token}"}
        response = httpx.post(f"{cloud.url}/vectorize", headers=headers, timeout=60, json={
            "tenant_id": tenant_id, "collection": "products",
            "records": [{"id": str(i), "text": text, "metadata": {}} for i, text in enumerate(products)]})
        assert response.status_code == 202, response.text
        assert wait_job(cloud, response.json()["job_id"], headers)["status"] == "done"
    return {"id": tenant_id, "account": account_id, "secret": secret, "token": "cw-" + token}


@pytest.fixture(scope="module")
def shop(cloud: Any, llm: LlmStub, chatwoot: ChatwootStub) -> dict[str, Any]:
    return make_tenant(cloud, {"X-Api-Key": cloud.admin_key}, llm, chatwoot, "Loja Azul Calçados",
                       ["Tênis Azul Runner tamanho 42, cor azul marinho, preço R$ 299,90, código AZUL-42",
                        "Sandália Praia Verão tamanhos 35 a 40, preço R$ 79,90"])


_messages = iter(range(int(time.time()) % 1_000_000 * 100, 10**12))


def post_webhook(cloud: Any, payload: dict[str, Any] | bytes, secret: str, **sign_args: Any) -> httpx.Response:
    raw, headers = signed(payload, secret, **sign_args)
    return deliver(f"{cloud.url}/webhooks/chatwoot", raw, headers)


def say(cloud: Any, tenant: dict[str, Any], conversation: int, text: str) -> httpx.Response:
    return post_webhook(cloud, incoming(tenant["account"], 12, conversation, next(_messages), text), tenant["secret"])


def test_one_reply_per_message_and_none_for_the_rest(cloud: Any, shop: dict[str, Any], chatwoot: ChatwootStub,
                                                      llm: LlmStub) -> None:
    conversation = 1001
    payload = incoming(shop["account"], 12, conversation, next(_messages), "Oi! Vocês têm o tênis azul no 42?")
    raw, headers = signed(payload, shop["secret"])
    first = deliver(f"{cloud.url}/webhooks/chatwoot", raw, headers)
    assert queued(first), first.text
    # Chatwoot's retry of the same delivery, and the same message through a second webhook.
    again = httpx.post(f"{cloud.url}/webhooks/chatwoot", content=raw, headers=headers, timeout=10)
    assert again.json()["status"] == "duplicate"
    assert post_webhook(cloud, payload, shop["secret"]).json()["status"] == "duplicate"
    # What is not ours to answer.
    assert post_webhook(cloud, echo(shop["account"], 12, conversation, next(_messages)),
                        shop["secret"]).json()["reason"] == "bot echo"
    note = incoming(shop["account"], 12, conversation, next(_messages), "nota interna", private=True)
    assert post_webhook(cloud, note, shop["secret"]).json()["status"] == "ignored"
    other = incoming(shop["account"], 12, conversation, next(_messages), "x", event="conversation_created")
    assert post_webhook(cloud, other, shop["secret"]).json()["status"] == "ignored"
    forged = post_webhook(cloud, incoming(shop["account"], 12, conversation, next(_messages), "forjada"), "not-it")
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "unauthorized"
    stale = post_webhook(cloud, incoming(shop["account"], 12, conversation, next(_messages), "velha"),
                         shop["secret"], timestamp=int(time.time()) - 900)
    assert stale.status_code == 401
    assert httpx.post(f"{cloud.url}/webhooks/chatwoot", content=b"{oops", timeout=10).status_code == 400

    assert chatwoot.wait_for(lambda: len(chatwoot.replies(conversation)) >= 1, timeout=90)
    conversations_drained(cloud)  # every job went through the worker: a wrong second reply would be here
    calls = chatwoot.successful(conversation_id=conversation)
    assert [c.kind for c in calls] == ["message"]
    reply = calls[0]
    assert reply.headers["api_access_token"] == shop["token"]
    assert reply.path == f"/api/v1/accounts/{shop['account']}/conversations/{conversation}/messages"
    assert reply.body["content"].startswith("Olá! Tênis Azul Runner tamanho 42")
    assert reply.body["private"] is False
    prompts = [p for p in llm.prompts if "Vocês têm o tênis azul no 42?" in p]
    assert not any("forjada" in p or "velha" in p or "nota interna" in p for p in llm.prompts)
    assert any("customer service assistant" in p and "AZUL-42" in p for p in prompts)  # the excerpts as facts


def test_a_burst_gets_one_answer(cloud: Any, shop: dict[str, Any], chatwoot: ChatwootStub) -> None:
    conversation = 1002
    for text in ("oi", "tudo bem?", "tem sandália 38?"):
        assert say(cloud, shop, conversation, text).json()["status"] == "queued"
    assert chatwoot.wait_for(lambda: len(chatwoot.replies(conversation)) >= 1, timeout=90)
    conversations_drained(cloud)  # the burst's three jobs all went through the worker
    assert len(chatwoot.replies(conversation)) == 1


def test_customer_asking_for_a_human_is_handed_off(cloud: Any, shop: dict[str, Any], chatwoot: ChatwootStub) -> None:
    conversation = 1003
    assert say(cloud, shop, conversation, "Quero falar com um atendente").json()["status"] == "queued"
    assert chatwoot.wait_for(lambda: len(chatwoot.successful("toggle_status", conversation)) == 1, timeout=90)
    assert chatwoot.replies(conversation) == ["Vou chamar um atendente para você."]
    assert len(chatwoot.successful("note", conversation)) == 1
    assert chatwoot.successful("toggle_status", conversation)[0].body == {"status": "open"}
    # A human now has it: the bot stays quiet.
    payload = incoming(shop["account"], 12, conversation, next(_messages), "alô?")
    payload["conversation"]["status"] = "open"
    assert post_webhook(cloud, payload, shop["secret"]).json()["status"] == "queued"
    conversations_drained(cloud)  # its job went through the worker, which stayed quiet
    assert chatwoot.replies(conversation) == ["Vou chamar um atendente para você."]


def test_a_second_tenants_data_never_reaches_the_first_tenants_prompts(
        cloud: Any, shop: dict[str, Any], chatwoot: ChatwootStub, llm: LlmStub, admin_headers: dict[str, str]) -> None:
    rival = make_tenant(cloud, admin_headers, llm, chatwoot, "Rival Verde Esportes",
                        ["SEGREDO-RIVAL Tênis Azul Runner tamanho 42 por R$ 99,00 só para revendedores"])
    assert say(cloud, shop, 1004, "Quanto custa o tênis azul 42? (loja)").json()["status"] == "queued"
    assert say(cloud, rival, 1004, "Quanto custa o tênis azul 42? (rival)").json()["status"] == "queued"
    assert chatwoot.wait_for(lambda: len(chatwoot.replies(1004)) >= 2, timeout=90)
    shop_prompts = [p for p in llm.prompts if "(loja)" in p]
    rival_prompts = [p for p in llm.prompts if "(rival)" in p]
    assert shop_prompts and rival_prompts
    assert not any("SEGREDO-RIVAL" in p or "Rival Verde" in p for p in shop_prompts)
    assert not any("AZUL-42" in p or "Loja Azul" in p for p in rival_prompts)
    assert any("SEGREDO-RIVAL" in p for p in rival_prompts)
    by_token = {c.headers["api_access_token"]: c.body["content"] for c in chatwoot.successful("message", 1004)}
    assert "SEGREDO-RIVAL" not in by_token[shop["token"]]
    assert "SEGREDO-RIVAL" in by_token[rival["token"]]


def test_without_an_llm_the_answer_comes_from_retrieval(cloud: Any, chatwoot: ChatwootStub, llm: LlmStub,
                                                         admin_headers: dict[str, str]) -> None:
    plain = make_tenant(cloud, admin_headers, llm, chatwoot, "Loja Sem IA", ["Guarda-chuva Amarelo Gigante "
                        "GC-77, R$ 49,90, à prova de vento"], with_llm=False)
    before = len(llm.requests)
    assert say(cloud, plain, 1005, "Vocês vendem guarda-chuva amarelo?").json()["status"] == "queued"
    assert chatwoot.wait_for(lambda: len(chatwoot.replies(1005)) >= 1, timeout=90)
    reply = chatwoot.replies(1005)[0]
    assert "Guarda-chuva Amarelo Gigante GC-77" in reply
    assert not any("guarda-chuva amarelo?" in p for p in llm.prompts[before:])
