"""The webhook and worker handlers as Lambda calls them, on the local stack's emulated cloud; and the MCP agent
against the real Odoo gateway (`/mcp`) with the Odoo double behind it."""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from chatwoot_ai.conversation.crew import CrewFactory, Turn
from chatwoot_ai.conversation.mcp_agent import McpToolsFactory
from chatwoot_ai.conversation.queue_job import ConversationJob
from chatwoot_ai.conversation.retrieval import Retriever
from devtools.chatwoot_payloads import incoming, signed
from devtools.doubles import ChatwootStub, LlmStub, OdooDouble, tool_call
from devtools.lambda_context import FakeLambdaContext


def receiver_context() -> FakeLambdaContext:
    return FakeLambdaContext("WebhookReceiverFunction")


def put(cloud: Any, path: str, body: dict[str, Any]) -> None:
    response = httpx.put(f"{cloud.url}{path}", json=body, headers={"X-Api-Key": cloud.admin_key}, timeout=30)
    assert response.status_code in (200, 201), response.text


def tenant(cloud: Any, config: dict[str, Any], credentials: dict[str, Any]) -> dict[str, Any]:
    tenant_id = "t_" + uuid.uuid4().hex[:10]
    account = 100_000 + secrets.randbelow(800_000)
    put(cloud, f"/configs/{tenant_id}/default/config", config)
    put(cloud, f"/configs/{tenant_id}/default/credentials", credentials)
    put(cloud, "/mapping", {"mappings": [{"chatwoot_account_id": account, "chatwoot_inbox_id": 12,
                                          "tenant_id": tenant_id, "domain": "default"}]})
    return {"id": tenant_id, "account": account, **credentials}


def http_event(raw: bytes, headers: dict[str, str], base64_body: bool) -> dict[str, Any]:
    return {
        "version": "2.0", "routeKey": "POST /webhooks/chatwoot", "rawPath": "/webhooks/chatwoot",
        "rawQueryString": "", "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {"http": {"method": "POST", "path": "/webhooks/chatwoot", "sourceIp": "127.0.0.1"},
                           "routeKey": "POST /webhooks/chatwoot", "stage": "$default", "requestId": "r"},
        "body": base64.b64encode(raw).decode() if base64_body else raw.decode(),
        "isBase64Encoded": base64_body,
    }


def test_receiver_handler_verifies_raw_bytes_whatever_the_body_encoding(cloud: Any) -> None:
    import webhook_receiver

    shop = tenant(cloud, {"company": {"name": "Loja"}}, {"chatwoot_webhook_secret": "segredo-1"})
    for index, as_base64 in enumerate((False, True)):
        payload = incoming(shop["account"], 12, 50 + index, 9000 + index, "Olá, tudo bem? Ação ✓")
        raw, headers = signed(payload, "segredo-1")
        response = webhook_receiver.lambda_handler(http_event(raw, headers, as_base64), receiver_context())
        assert response["statusCode"] == 200, response
        assert json.loads(response["body"])["status"] == "queued"
    raw, headers = signed(incoming(shop["account"], 12, 52, 9002, "oi"), "segredo-1")
    headers["X-Chatwoot-Signature"] = headers["X-Chatwoot-Signature"][:-2] + "00"
    response = webhook_receiver.lambda_handler(http_event(raw, headers, False), receiver_context())
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"]["code"] == "unauthorized"
    changed = {"source": "chatwoot-ai.config", "detail-type": "ConfigChanged",
               "detail": {"tenant_id": shop["id"], "domain": "default", "config_type": "config", "version": 2}}
    assert webhook_receiver.lambda_handler(changed, receiver_context()) == {}


def _record(job: ConversationJob, message_id: str) -> dict[str, Any]:
    return {"messageId": message_id, "receiptHandle": "rh-" + message_id, "body": job.model_dump_json(),
            "attributes": {"MessageGroupId": job.group_id, "MessageDeduplicationId": message_id},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:conversations.fifo", "awsRegion": "us-east-1"}


def test_worker_reports_only_the_failed_conversation_and_what_follows_it(cloud: Any, chatwoot: ChatwootStub,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import conversation_worker

    from chatwoot_ai import aws
    from chatwoot_ai.conversation.history import HistoryStore, conversation_pk
    from chatwoot_ai.settings import get_settings

    chatwoot.reset()
    ok = tenant(cloud, {"company": {"name": "Loja OK"}, "chatwoot": {"base_url": chatwoot.url},
                        "enabled_collections": [], "handoff": {"keywords": ["atendente"], "message": "Já chamo."}},
                {"chatwoot_api_access_token": "tok-ok"})
    broken = tenant(cloud, {"company": {"name": "Loja Fora"}, "chatwoot": {"base_url": "http://127.0.0.1:9"},
                            "enabled_collections": [], "handoff": {"keywords": ["atendente"], "message": "Já chamo."}},
                    {"chatwoot_api_access_token": "tok-broken"})
    history = HistoryStore(aws.table(get_settings().resources.history_table))
    now = int(time.time() * 1000) - 10_000  # quiet for longer than the debounce: no wait
    jobs = []
    for t, message_id in ((ok, 1), (broken, 2), (broken, 3)):
        job = ConversationJob(tenant_id=t["id"], account_id=t["account"], inbox_id=12, conversation_id=7,
                              message_id=message_id, content="quero um atendente", channel="whatsapp",
                              received_at_ms=now + message_id)
        history.add_turn(conversation_pk(t["id"], t["account"], 7), "customer", job.content, message_id,
                         job.received_at_ms)
        jobs.append(job)
    # Fewer, faster retries for the dead Chatwoot (restored after the test: the stack's worker shares the pipeline).
    monkeypatch.setattr(conversation_worker.get_pipeline(), "chatwoot_factory", _fast_chatwoot())
    event = {"Records": [_record(job, f"m{i}") for i, job in enumerate(jobs)]}
    result = conversation_worker.lambda_handler(event, receiver_context())
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["m1", "m2"]
    assert chatwoot.replies(7) == ["Já chamo."]
    assert [c.headers["api_access_token"] for c in chatwoot.successful()] == ["tok-ok"] * 3


def _fast_chatwoot() -> Any:
    from chatwoot_ai.chatwoot import ChatwootClient

    return lambda base_url, token: ChatwootClient(base_url, token, max_attempts=2, backoff_s=0.01, timeout_s=2)


@pytest.fixture(scope="module")
def odoo() -> Iterator[OdooDouble]:
    with OdooDouble(version=18) as double:
        yield double


@pytest.mark.slow
def test_mcp_agent_reads_the_tenants_odoo_through_the_gateway(cloud: Any, llm: LlmStub, odoo: OdooDouble) -> None:
    shop = tenant(cloud, {"company": {"name": "Sandra Cosméticos"}, "enabled_collections": [],
                          "llm": {"model": "openai/stub-model", "base_url": llm.base_url, "timeout_s": 10},
                          "odoo": {"url": odoo.url, "db": odoo.db, "username": odoo.username}},
                  {"odoo_api_key": odoo.api_key, "llm_api_key": "sk-x"})
    llm.reset()
    llm.on("Intention analyst", answer='{"intent":"order","language":"pt-BR","wants_human":false,"confidence":0.9}')
    llm.on("ERP operations specialist", answer=tool_call("get_order_status", ref="S00001"), times=1)
    llm.on("ERP operations specialist", '"status"',
           answer=lambda prompt, _r: "- " + prompt.split("[tool] ", 1)[1].splitlines()[0][:300])
    llm.on("customer service assistant", answer=lambda prompt, _r: "Seu pedido: " + prompt.split("## odoo", 1)[1]
           .strip().splitlines()[0])
    # The full plan runs the Odoo agent (the economical plan looks an order reference up in code: below).
    factory = CrewFactory(lambda t: Retriever(t, lambda *_a, **_k: []), specialist_timeout_s=30,
                          tools_factory=McpToolsFactory(cloud.url, timeout_s=15),
                          mcp_available=lambda _config: True, economy=False)
    from chatwoot_ai.config import get_config_cache

    config = get_config_cache().config(shop["id"])
    assert config is not None
    plan = factory.plan(config, "whatsapp")
    assert plan.specialists == ["odoo"]
    from chatwoot_ai.identity import CustomerIdentity

    # The order is Maria's (the Odoo double's partner 7), and the conversation is with her Chatwoot contact.
    maria = CustomerIdentity(shop["id"], "default", 3, 431, 905, "+5511987654321")
    question = Turn(["Qual o status do pedido S00001?"], [], customer=maria)
    result = factory.run(plan, config, shop["id"], "default", question, "sk-x")
    assert result.answer is not None and "Pedido confirmado" in result.answer
    tool_request = next(r for r in llm.requests if r.get("tools"))
    offered = {t["function"]["name"] for t in tool_request["tools"]}
    assert offered == {"search_products", "get_product", "check_stock", "find_customer", "get_order_status"}
    for tool in tool_request["tools"]:  # the model can never pick whose Odoo it reads
        assert "tenant_id" not in tool["function"]["parameters"].get("properties", {})
    # The economical plan: the order reference is in the message, so get_order_status is called in code through the
    # same gateway tool, and the only model call is the response.
    llm.requests.clear()
    factory.economy = True
    result = factory.run(plan, config, shop["id"], "default", question, "sk-x")
    assert result.answer is not None and "Pedido confirmado" in result.answer and "odoo:code" in result.steps
    assert len(llm.requests) == 1 and not llm.requests[0].get("tools")
