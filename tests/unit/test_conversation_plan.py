"""The economical plan (crew.py `_planned`) against the LLM stub: which agents get a model call, the Odoo agent only
for live data, the grounding guard, budgets, and every call counted and stored with the turn."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import pytest
from pydantic import SecretStr
from support.webhook_fixtures import FakeConfigs, create_pipeline_resources

from chatwoot_ai.chatwoot import ChatwootClient, ReplyLedger
from chatwoot_ai.conversation.crew import CrewFactory, Turn
from chatwoot_ai.conversation.economy import ungrounded_numbers
from chatwoot_ai.conversation.history import HistoryStore, conversation_pk
from chatwoot_ai.conversation.pipeline import ConversationPipeline, PipelineSettings
from chatwoot_ai.conversation.queue_job import ConversationJob
from chatwoot_ai.conversation.retrieval import Retriever
from chatwoot_ai.models import Credentials, TenantConfig
from chatwoot_ai.vector import SearchHit
from devtools.doubles import ChatwootStub, LlmStub

pytestmark = pytest.mark.slow  # crewai

ANSWER = "O Tênis Azul Runner custa R$ 299,90."
POLICY = "Você pode devolver em até 30 dias, com a nota fiscal."
RECORDS = {
    "products": [("Tênis Azul Runner BR-42. Tênis de corrida azul. Preço: R$ 299,90.",
                  {"name": "Tênis Azul Runner BR-42", "price": 299.9}, ("tenis", "azul", "corrida"))],
    "business_rules": [("Trocas e devoluções em até 30 dias com a nota fiscal.", {"name": "Trocas"},
                        ("troca", "devolu", "devolver")),
                       ("Estoque Mínimo. Repor quando o estoque ficar abaixo de 5 unidades.",
                        {"name": "Estoque Mínimo", "visibility": "internal"}, ("estoque", "repor"))],
}


def search(_tenant: str, collection: str, query: str, limit: int = 4) -> list[Any]:
    """The gate as keywords: a record is relevant when the query has one of its words."""
    q = query.lower()
    return [SearchHit(id=f"{collection}-{i}", score=0.9, relevance=0.9, text=text, metadata=meta)
            for i, (text, meta, words) in enumerate(RECORDS.get(collection, [])) if any(w in q for w in words)]


class OrderTool:
    """Stands in for the gateway's get_order_status tool (the plan calls it in code)."""

    name = "get_order_status"

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def _run(self, **kwargs: Any) -> str:
        self.calls.append(kwargs)
        return json.dumps({"name": kwargs.get("ref"), "state": "Pedido confirmado", "amount_total": 150.0})


def config(llm: LlmStub, **budget: Any) -> TenantConfig:
    return TenantConfig.model_validate({
        "company": {"name": "Loja Azul", "language": "pt-BR"}, "assistant": {"name": "Ana", "emoji_usage": "none"},
        "enabled_collections": ["products", "business_rules"],
        "llm": {"model": "openai/stub-model", "base_url": llm.base_url, "timeout_s": 5, **budget},
        "odoo": {"url": "http://odoo.example", "db": "d", "username": "u"},
        "handoff": {"keywords": ["atendente"], "message": "Vou chamar um atendente."},
    })


@pytest.fixture
def stub(llm: LlmStub) -> LlmStub:
    llm.reset()
    llm.on("ERP operations specialist", answer="Estoque do Tênis Azul Runner: 12 unidades.")
    llm.on("customer service assistant", answer=ANSWER)
    return llm


def factory(tool: OrderTool | None = None, erp_tools: list[Any] | None = None) -> CrewFactory:
    def tools(_tenant: str, _domain: str, _customer: Any = None) -> list[Any]:
        return [*(erp_tools or []), *([tool] if tool else [])]

    return CrewFactory(lambda tenant: Retriever(tenant, search), tools_factory=tools,
                       mcp_available=lambda _config: True)


def run(f: CrewFactory, cfg: TenantConfig, text: str, history: list[tuple[str, str]] | None = None) -> Any:
    return f.run(f.plan(cfg, "whatsapp"), cfg, "loja", "default", Turn([text], history or [], "Maria"), "sk")


def roles(stub: LlmStub) -> list[str]:
    names = {"ERP operations specialist": "odoo", "customer service assistant": "response",
             "Intention analyst": "intention", "Product specialist": "products",
             "Business rules specialist": "business_rules"}
    return [next((v for k, v in names.items() if k in p), "?") for p in stub.prompts]


def test_a_greeting_costs_no_call(stub: LlmStub) -> None:
    result = run(factory(), config(stub), "oi")
    assert result.answer and result.answer.startswith("Olá, Maria!") and stub.requests == []
    assert result.usage.call_count == 0


def test_a_policy_question_is_one_call_and_never_the_odoo_agent(stub: LlmStub) -> None:
    tool = OrderTool()
    stub.on("customer service assistant", answer=POLICY)
    result = run(factory(tool), config(stub), "posso devolver um produto?")
    assert result.answer == POLICY
    assert roles(stub) == ["response"] and tool.calls == []
    assert "odoo:agent" not in result.steps and "odoo:code" not in result.steps
    assert result.usage.call_count == 1 and result.usage.tokens == sum(u["total_tokens"] for u in stub.usages)
    prompt = stub.prompts[0]
    assert "Trocas e devoluções em até 30 dias" in prompt  # the excerpts went to the response agent as facts


def test_an_order_reference_is_looked_up_in_code_without_the_odoo_agent(stub: LlmStub) -> None:
    tool = OrderTool()
    stub.on("customer service assistant", answer="Seu pedido S00012 está confirmado, Maria.")
    result = run(factory(tool), config(stub), "qual o status do meu pedido S00012?")
    assert tool.calls == [{"ref": "S00012"}]
    assert roles(stub) == ["response"] and "odoo:code" in result.steps
    assert "Pedido confirmado" in stub.prompts[0]


def test_a_stock_question_runs_the_odoo_agent(stub: LlmStub) -> None:
    from crewai.tools import BaseTool

    class CheckStock(BaseTool):  # type: ignore[misc]
        name: str = "check_stock"
        description: str = "Stock of a product"

        def _run(self, product_id: int = 1) -> str:
            return '{"qty_available": 12}'

    result = run(factory(erp_tools=[CheckStock()]), config(stub), "o tênis azul tem em estoque?")
    assert "odoo:agent" in result.steps
    assert roles(stub) == ["odoo", "response"]
    assert "12 unidades" in stub.prompts[-1]
    # The internal rule about stock may guide the model, marked so, but never reaches the customer.
    assert "(INTERNAL, guidance only" in stub.prompts[-1]


def test_an_invented_price_gets_one_retry_then_the_extractive_answer(stub: LlmStub) -> None:
    stub.on("customer service assistant", answer="O Tênis Azul Runner sai por R$ 199,90 hoje!")
    result = run(factory(), config(stub), "quanto custa o tênis azul?")
    assert roles(stub) == ["response", "response"]
    assert "199" in ",".join(ungrounded_numbers("R$ 199,90", "R$ 299,90"))
    assert result.answer == "*Tênis Azul Runner BR-42*: R$ 299,90. Tênis de corrida azul."
    assert "grounding_fallback" in result.steps


def test_the_extractive_answer_never_quotes_an_internal_rule(stub: LlmStub) -> None:
    cfg = config(stub).model_copy(update={"llm": None})
    result = run(factory(), cfg, "quando vocês repõem o estoque?")
    assert result.answer is None and result.handoff is not None and result.handoff.reason == "no_answer"


def test_the_turn_budget_cuts_off_cleanly(stub: LlmStub) -> None:
    result = run(factory(), config(stub, max_calls_per_turn=0), "quanto custa o tênis azul?")
    assert stub.requests == [] and result.answer == "*Tênis Azul Runner BR-42*: R$ 299,90. Tênis de corrida azul."
    # One call allowed, the grounding retry would be the second: the extractive answer instead, no half reply.
    stub.on("customer service assistant", answer="Custa R$ 199,90.")
    result = run(factory(), config(stub, max_calls_per_turn=1), "quanto custa o tênis azul?")
    assert len(stub.requests) == 1 and "budget" in result.steps
    assert result.answer == "*Tênis Azul Runner BR-42*: R$ 299,90. Tênis de corrida azul."


# ---------------------------------------------------------------- through the pipeline: the day's budget, the record
@pytest.fixture
def pipeline(moto_endpoint: str, stub: LlmStub, chatwoot: ChatwootStub) -> dict[str, Any]:
    chatwoot.reset()
    names = create_pipeline_resources(moto_endpoint, "p" + uuid.uuid4().hex[:8])
    table = boto3.resource("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1").Table(
        names["history_table"])
    configs = FakeConfigs()
    tenant = "loja_" + uuid.uuid4().hex[:6]
    cfg = config(stub, max_calls_per_day=1).model_copy(update={"odoo": None})
    cfg.chatwoot = TenantConfig.model_validate({"company": {"name": "x"}, "chatwoot": {"base_url": chatwoot.url}}
                                               ).chatwoot
    configs.configs[tenant] = cfg
    configs.creds[tenant] = Credentials(chatwoot_api_access_token=SecretStr("tok"), llm_api_key=SecretStr("sk"))
    history = HistoryStore(table)
    p = ConversationPipeline(configs, history, ReplyLedger(table), CrewFactory(lambda t: Retriever(t, search)),
                             lambda base_url, token: ChatwootClient(base_url, token, backoff_s=0.01),
                             PipelineSettings(debounce_s=0.2, debounce_max_s=2))
    return {"pipeline": p, "history": history, "tenant": tenant, "chatwoot": chatwoot}


_ids = iter(range(50_000, 10**9))


def says(world: dict[str, Any], conversation_id: int, text: str) -> ConversationJob:
    job = ConversationJob(tenant_id=world["tenant"], channel="whatsapp", account_id=3, inbox_id=12,
                          conversation_id=conversation_id, message_id=next(_ids), content=text, sender_name="Maria",
                          conversation_status="pending", received_at_ms=int(time.time() * 1000))
    world["history"].add_turn(conversation_pk(world["tenant"], 3, conversation_id), "customer", text, job.message_id,
                              job.received_at_ms)
    return job


def test_usage_is_stored_with_the_turn_and_the_days_budget_stops_the_model(pipeline: dict[str, Any],
                                                                           stub: LlmStub) -> None:
    stub.on("customer service assistant", answer=POLICY)
    assert pipeline["pipeline"].process(says(pipeline, 1, "posso devolver um produto?")) == "answered:1"
    assert pipeline["chatwoot"].replies(1) == [POLICY]
    pk = conversation_pk(pipeline["tenant"], 3, 1)
    item = pipeline["history"].table.get_item(Key={"pk": pk, "sk": pipeline["history"].turns(pk)[-1].sk})["Item"]
    usage = item["usage"]
    assert usage["llm_calls"] == 1 and usage["tokens"] > 0 and usage["calls"][0]["agent"] == "response"
    # The day's one call is spent: the next turn is answered without a model.
    stub.requests.clear()
    assert pipeline["pipeline"].process(says(pipeline, 2, "quanto custa o tênis azul?")) == "answered:1"
    assert stub.requests == []
    assert pipeline["chatwoot"].replies(2) == ["*Tênis Azul Runner BR-42*: R$ 299,90. Tênis de corrida azul."]


def test_the_llm_down_still_answers_from_the_facts_and_never_shows_an_error(stub: LlmStub) -> None:
    stub.fail_always = True
    result = run(factory(), config(stub), "quanto custa o tênis azul?")
    assert result.answer == "*Tênis Azul Runner BR-42*: R$ 299,90. Tênis de corrida azul."
    assert result.handoff is None and stub.requests  # it was asked, and failed
