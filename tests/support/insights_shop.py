"""A small shop with real conversations on the local stack (no LLM: answers from retrieval alone): an answer, a
customer asking for a human and a question nothing in its data answers, each with its trace. The business owner's
view's API tests and browser tests read it."""

from __future__ import annotations

import atexit
import secrets
import time
import uuid
from typing import Any

import httpx
from support.tenants import wait_job
from support.webhook_fixtures import deliver, queued

from devtools import SHORT_DEBOUNCE
from devtools.chatwoot_payloads import incoming, signed
from devtools.doubles import ChatwootStub

PRODUCTS = [
    {"id": "azul-42", "text": "Tênis Azul Runner tamanho 42, cor azul marinho, preço R$ 299,90, código AZUL-42",
     "metadata": {}},
    {"id": "sandalia", "text": "Sandália Praia Verão tamanhos 35 a 40, preço R$ 79,90", "metadata": {}},
]
RULES = [
    {"id": "margem", "text": "Desconto máximo que o vendedor pode dar no Tênis Azul Runner: 12% à vista.",
     "metadata": {"visibility": "internal"}},
    {"id": "troca", "text": "Trocas do Tênis Azul Runner em até 30 dias com nota fiscal.", "metadata": {}},
]


_opened: dict[int, dict[str, Any]] = {}


def shared_shop(cloud: Any) -> dict[str, Any]:
    """`open_shop` once per session stack for every module that reads it (the API tests, the browser tests), with a
    Chatwoot stub of its own that lives as long as the process: `shop["chatwoot"]` heard every call the shop caused.
    What a module changes (a config, a key) it puts back."""
    if id(cloud) not in _opened:
        chatwoot = ChatwootStub().start()
        atexit.register(chatwoot.stop)
        _opened[id(cloud)] = {**open_shop(cloud, chatwoot), "chatwoot": chatwoot}
    return _opened[id(cloud)]


def open_shop(cloud: Any, chatwoot: ChatwootStub) -> dict[str, Any]:
    """A tenant without an LLM (answers from retrieval alone), three conversations: an answer, a customer asking for
    a human, a question nothing in its data answers."""
    admin = {"X-Api-Key": cloud.admin_key}
    tenant_id, account = "t_" + uuid.uuid4().hex[:10], 100_000 + secrets.randbelow(800_000)
    secret, token = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    config = {"company": {"name": "Loja Azul", "language": "pt-BR", "timezone": "America/Sao_Paulo"},
              "enabled_collections": ["products", "business_rules"], "chatwoot": {"base_url": chatwoot.url},
              "handoff": {"keywords": ["atendente"], "message": "Vou chamar uma atendente."},
              "insights": {"trace_ttl_days": 7}}
    for kind, body in (("config", config), ("credentials", {"chatwoot_webhook_secret": secret,
                                                            "chatwoot_api_access_token": "cw",
                                                            "vectorize_token": token})):
        httpx.put(f"{cloud.url}/configs/{tenant_id}/default/{kind}", json=body, headers=admin,
                  timeout=60).raise_for_status()
    httpx.put(f"{cloud.url}/mapping", headers=admin, timeout=60, json={"mappings": [
        {"chatwoot_account_id": account, "chatwoot_inbox_id": 12, "tenant_id": tenant_id,
         "channel": "whatsapp"}]}).raise_for_status()
    bearer = {"Authorization": f"Bearer {token}"}
    for collection, records in (("products", PRODUCTS), ("business_rules", RULES)):
        response = httpx.post(f"{cloud.url}/vectorize", headers=bearer, timeout=60,
                              json={"tenant_id": tenant_id, "collection": collection, "records": records})
        assert response.status_code == 202, response.text
        wait_job(cloud, response.json()["job_id"], bearer)
    base = secrets.randbelow(10**6) * 10
    said = {1: "Vocês têm o tênis azul runner tamanho 42?", 2: "Quero falar com uma atendente, por favor",
            3: "Vocês consertam motor de barco a diesel?"}
    with cloud.environment_changed(SHORT_DEBOUNCE, "ConversationWorkerFunction"):
        for conversation, text in said.items():
            raw, headers = signed(incoming(account, 12, conversation, base + conversation, text), secret)
            assert queued(deliver(f"{cloud.url}/webhooks/chatwoot", raw, headers))
        assert chatwoot.wait_for(lambda: all(chatwoot.replies(c) for c in said) and
                                 len(chatwoot.successful("toggle_status")) >= 2, timeout=120)
        # The trace is stored right after the reply: wait until the third one is there.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            days = httpx.get(f"{cloud.url}/metrics/{tenant_id}?days=1", headers=admin, timeout=60).json()["days"]
            if days[-1]["turns"] >= 3:
                break
            time.sleep(0.3)
    return {"id": tenant_id, "account": account, "admin": admin}
