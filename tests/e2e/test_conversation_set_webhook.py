"""The scripted pt-BR conversation set (tests/support/conversation_set.py) through the webhook on the local stack,
without an LLM: each turn is a signed Chatwoot webhook; what the customer receives is what the Chatwoot stub got.
The same checks as the crew-level test (the fact, no unrelated or internal text, no cut sentence, answer or handoff
as scripted), here with the receiver, the queue, the worker process, the gate and the channel split in the path."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from support.conversation_set import CONVERSATIONS, Outcome, check
from support.tenants import wait_job
from support.webhook_fixtures import deliver, queued

from devtools import SHORT_DEBOUNCE
from devtools.chatwoot_payloads import incoming, signed
from devtools.demo_store import corpus
from devtools.doubles import ChatwootStub

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
LIMITS = {"whatsapp": 4096, "instagram": 1000}
# Conversations in flight at once: the worker takes two batches at a time (two pollers on the FIFO queue).
CONCURRENT_CONVERSATIONS = 8


@pytest.fixture(scope="module")
def quick_worker(cloud: Any) -> Iterator[None]:
    """The debounce only waits; one turn at a time here, so 0.1 s keeps its code path and the run short."""
    with cloud.environment_changed(SHORT_DEBOUNCE, "ConversationWorkerFunction"):
        yield


@pytest.fixture(scope="module")
def demo(cloud: Any, chatwoot: ChatwootStub, quick_worker: None) -> dict[str, Any]:
    """The demo store as a tenant without LLM, its collections vectorized through the API, inbox 12 WhatsApp and
    inbox 13 Instagram."""
    tenant_id, account = "set_" + uuid.uuid4().hex[:8], 300_000 + secrets.randbelow(90_000)
    secret, token = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    admin = {"X-Api-Key": cloud.admin_key}
    config = {"company": {"name": "Sandra Cosméticos", "language": "pt-BR", "timezone": "America/Sao_Paulo"},
              "assistant": {"name": "Ana", "style": "friendly", "emoji_usage": "low"},
              "enabled_collections": ["business_rules", "support_documents", "products"],
              "chatwoot": {"base_url": chatwoot.url},
              "handoff": {"keywords": ["atendente", "humano", "pessoa"],
                          "message": "Vou chamar uma atendente para continuar com você."}}
    for kind, body in (("config", config), ("credentials", {"chatwoot_webhook_secret": secret,
                                                            "chatwoot_api_access_token": "cw-" + token,
                                                            "vectorize_token": token})):
        httpx.put(f"{cloud.url}/configs/{tenant_id}/default/{kind}", json=body, headers=admin,
                  timeout=60).raise_for_status()
    httpx.put(f"{cloud.url}/mapping", headers=admin, timeout=60, json={"mappings": [
        {"chatwoot_account_id": account, "chatwoot_inbox_id": 12, "tenant_id": tenant_id, "channel": "whatsapp"},
        {"chatwoot_account_id": account, "chatwoot_inbox_id": 13, "tenant_id": tenant_id, "channel": "instagram"},
    ]}).raise_for_status()
    bearer = {"Authorization": f"Bearer {token}"}
    jobs = [httpx.post(f"{cloud.url}/vectorize", headers=bearer, timeout=120, json={
        "tenant_id": tenant_id, "collection": collection, "records": records}).json()["job_id"]
        for collection, records in corpus().items()]  # queued together: the vectorize worker takes them in turn
    for job in jobs:
        assert wait_job(cloud, job, bearer, timeout=300)["status"] == "done", job
    return {"account": account, "secret": secret}


def _calls(chatwoot: ChatwootStub, conversation: int) -> list[Any]:
    return chatwoot.successful(conversation_id=conversation)


def _settled(chatwoot: ChatwootStub, conversation: int, before: int) -> list[Any]:
    """The calls a turn caused: at least one, then nothing new for a second."""
    assert chatwoot.wait_for(lambda: len(_calls(chatwoot, conversation)) > before, timeout=90), conversation
    count, quiet_since = len(_calls(chatwoot, conversation)), time.monotonic()
    while time.monotonic() - quiet_since < 1.0:
        time.sleep(0.1)
        if len(_calls(chatwoot, conversation)) != count:
            count, quiet_since = len(_calls(chatwoot, conversation)), time.monotonic()
    return _calls(chatwoot, conversation)[before:]


def _converse(cloud: Any, chatwoot: ChatwootStub, demo: dict[str, Any], number: int, conv: Any,
              first_id: int) -> Outcome:
    """One scripted conversation, turn after turn (a turn is sent once the previous one has settled)."""
    conversation, inbox = 700_000 + number, 13 if conv.channel == "instagram" else 12
    caused: list[Any] = []
    for turn, message in enumerate(conv.turns):
        before = len(_calls(chatwoot, conversation))
        payload = incoming(demo["account"], inbox, conversation, first_id + turn, message)
        payload["sender"]["name"] = "Maria"
        raw, headers = signed(payload, demo["secret"])
        status = deliver(f"{cloud.url}/webhooks/chatwoot", raw, headers)
        assert queued(status), status.text
        caused = _settled(chatwoot, conversation, before)
    replies = [str(c.body.get("content")) for c in caused if c.kind == "message"]
    handoff = "handoff" if any(c.kind == "toggle_status" for c in caused) else None
    outcome = Outcome(conv, replies, handoff)
    outcome.problems = check(outcome, LIMITS.get(conv.channel, 4096))
    return outcome


def test_the_conversation_set_through_the_webhook_without_an_llm(cloud: Any, chatwoot: ChatwootStub,
                                                                demo: dict[str, Any]) -> None:
    """The conversations are independent (each its own Chatwoot conversation, so its own FIFO group and history),
    so they run side by side, as a shop's customers write; within one, a turn waits for the previous reply. What
    each conversation received is checked on its own, as when they ran one after another."""
    base = int(time.time()) % 100_000 * 1000 + 2 * 10**9
    with ThreadPoolExecutor(CONCURRENT_CONVERSATIONS) as pool:
        outcomes = list(pool.map(lambda numbered: _converse(cloud, chatwoot, demo, numbered[0], numbered[1],
                                                            base + 10 * numbered[0]), enumerate(CONVERSATIONS)))
    wrong = {o.conversation.id: o.problems for o in outcomes if o.problems}
    print(f"conversation set through the webhook: {len(outcomes) - len(wrong)} of {len(outcomes)} right; {wrong}")
    assert wrong == {}  # as at crew level: 42 of 42 right without an LLM
    assert not [o for o in outcomes if o.conversation.kind == "internal_bait" and o.answered and
                any("estoque m" in r.lower() for r in o.replies)]
