"""The worker's pipeline with the real crewai code path against the LLM stub, a Chatwoot stub, and the history on the
emulated cloud: one reply per turn, debounce, handoff, fallbacks, and no other tenant's data in any prompt."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import boto3
import pytest
from pydantic import SecretStr
from support.webhook_fixtures import FakeConfigs, FakeSearch, create_pipeline_resources

from chatwoot_ai.chatwoot import ChatwootClient, ReplyLedger
from chatwoot_ai.conversation.crew import CrewFactory, Turn
from chatwoot_ai.conversation.history import HistoryStore, conversation_pk
from chatwoot_ai.conversation.pipeline import ConversationPipeline, PipelineSettings
from chatwoot_ai.conversation.queue_job import ConversationJob
from chatwoot_ai.conversation.retrieval import Retriever
from chatwoot_ai.models import ChannelOverride, Credentials, TenantConfig
from devtools.doubles import ChatwootStub, LlmStub

pytestmark = pytest.mark.slow  # crewai import (~4 s) and real crews

INTENT_OK = json.dumps({"intent": "product", "language": "pt-BR", "wants_human": False, "confidence": 0.9})
ANSWER = "Olá, Maria! Temos sim o Tênis Azul Runner 42, por R$ 299,90. Quer que eu separe um para você?"


def quote_excerpts(prompt: str, _request: dict[str, Any]) -> str:
    """A specialist that repeats the excerpts it was given, as a model would."""
    lines = [line.split("] ", 1)[1] for line in prompt.splitlines() if re.match(r"^\[\d+\] ", line)]
    return "\n".join(f"- {line}" for line in lines) or "NONE"


@pytest.fixture
def world(moto_endpoint: str, llm: LlmStub, chatwoot: ChatwootStub) -> dict[str, Any]:
    llm.reset()
    chatwoot.reset()
    llm.on("Intention analyst", answer=INTENT_OK)
    llm.on("Product specialist", answer=quote_excerpts)
    llm.on("Business rules specialist", answer=quote_excerpts)
    llm.on("Support documentation specialist", answer="NONE")
    llm.on("customer service assistant", answer=ANSWER)
    names = create_pipeline_resources(moto_endpoint, "c" + uuid.uuid4().hex[:8])
    table = boto3.resource("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1").Table(
        names["history_table"])
    history = HistoryStore(table)
    configs = FakeConfigs()
    tenant_a, tenant_b = "loja_a_" + uuid.uuid4().hex[:6], "loja_b_" + uuid.uuid4().hex[:6]
    for tenant, name in ((tenant_a, "Loja Azul"), (tenant_b, "Concorrente Verde")):
        configs.configs[tenant] = TenantConfig.model_validate({
            "company": {"name": name, "language": "pt-BR"},
            "assistant": {"name": "Ana", "style": "friendly", "emoji_usage": "none"},
            "chatwoot": {"base_url": chatwoot.url},
            "llm": {"model": "openai/stub-model", "base_url": llm.base_url, "timeout_s": 5},
            "handoff": {"keywords": ["atendente", "humano"], "message": "Vou chamar um atendente. 😊"},
        })
        configs.creds[tenant] = Credentials(chatwoot_api_access_token=SecretStr("tok-" + tenant),
                                            llm_api_key=SecretStr("sk-" + tenant))
    search = FakeSearch({
        tenant_a: {"products": ["Tênis Azul Runner BR-42 R$ 299,90 tamanhos 38-44"],
                   "business_rules": ["Frete grátis para compras acima de R$ 200."]},
        tenant_b: {"products": ["SEGREDO-B: Tênis Verde exclusivo R$ 99"],
                   "business_rules": ["SEGREDO-B: desconto de 50% para revendedores"]},
    })
    # The seed's full plan (every agent a call); the economical plan has its own tests (test_conversation_plan.py).
    factory = CrewFactory(lambda tenant: Retriever(tenant, search), specialist_timeout_s=10, economy=False)
    pipeline = ConversationPipeline(
        configs, history, ReplyLedger(table), factory,
        lambda base_url, token: ChatwootClient(base_url, token, backoff_s=0.01),
        PipelineSettings(debounce_s=0.3, debounce_max_s=3),
    )
    return {"pipeline": pipeline, "history": history, "configs": configs, "a": tenant_a, "b": tenant_b,
            "search": search, "factory": factory, "llm": llm, "chatwoot": chatwoot}


_ids = iter(range(10_000, 10**9))


def customer_says(world: dict[str, Any], tenant: str, conversation_id: int, text: str, *,
                  status: str = "pending", at_ms: int | None = None) -> ConversationJob:
    """What the receiver does: the turn into the history, and the job for the queue."""
    job = ConversationJob(tenant_id=tenant, channel="whatsapp", account_id=3, inbox_id=12,
                          conversation_id=conversation_id, message_id=next(_ids), content=text,
                          sender_name="Maria", conversation_status=status,
                          received_at_ms=at_ms or int(time.time() * 1000))
    pk = conversation_pk(tenant, 3, conversation_id)
    world["history"].add_turn(pk, "customer", text, job.message_id, job.received_at_ms)
    return job


def test_one_reply_from_the_crew_with_the_tenants_data_only(world: dict[str, Any]) -> None:
    job = customer_says(world, world["a"], 1, "Oi! Vocês têm o tênis azul no 42?")
    assert world["pipeline"].process(job) == "answered:1"
    assert world["chatwoot"].replies(1) == [ANSWER]
    call = world["chatwoot"].successful("message", 1)[0]
    assert call.headers["api_access_token"] == "tok-" + world["a"]
    assert call.body == {"content": ANSWER, "message_type": "outgoing", "private": False}
    prompts = world["llm"].prompts
    roles = {"Intention analyst", "Product specialist", "Business rules specialist", "customer service assistant"}
    assert all(any(role in p for p in prompts) for role in roles)
    # Support documents had no hits: no model call for it.
    assert not any("Support documentation specialist" in p for p in prompts)
    joined = "\n".join(prompts)
    assert "Tênis Azul Runner BR-42" in joined and "Loja Azul" in joined
    assert "SEGREDO-B" not in joined and "Concorrente Verde" not in joined
    assert {tenant for tenant, _c, _q in world["search"].calls} == {world["a"]}
    # The same job again (SQS redelivery): nothing is sent twice.
    assert world["pipeline"].process(job) == "skipped:answered"
    assert len(world["chatwoot"].replies(1)) == 1
    turns = world["history"].turns(conversation_pk(world["a"], 3, 1))
    assert [(t.role, t.content) for t in turns] == [("customer", "Oi! Vocês têm o tênis azul no 42?"),
                                                   ("assistant", ANSWER)]


def test_second_tenant_prompts_never_see_the_first_tenants_data(world: dict[str, Any]) -> None:
    world["pipeline"].process(customer_says(world, world["a"], 2, "Qual o preço do tênis azul?"))
    world["llm"].requests.clear()
    world["pipeline"].process(customer_says(world, world["b"], 2, "Qual o preço do tênis?"))
    joined = "\n".join(world["llm"].prompts)
    assert "SEGREDO-B" in joined and "Concorrente Verde" in joined
    assert "Tênis Azul Runner" not in joined and "Loja Azul" not in joined
    assert "Qual o preço do tênis azul?" not in joined  # tenant A's conversation is not in B's history either


def test_a_burst_of_messages_gets_one_answer_covering_all(world: dict[str, Any]) -> None:
    now = int(time.time() * 1000)
    jobs = [customer_says(world, world["a"], 3, text, at_ms=now + i)
            for i, text in enumerate(["oi", "tudo bem?", "vocês têm tênis azul 42?"])]
    outcomes = [world["pipeline"].process(job) for job in jobs]
    assert outcomes == ["answered:3", "skipped:answered", "skipped:answered"]
    assert world["chatwoot"].replies(3) == [ANSWER]
    response_prompt = next(p for p in world["llm"].prompts if "customer service assistant" in p)
    for text in ("- oi", "- tudo bem?", "- vocês têm tênis azul 42?"):
        assert text in response_prompt


def test_keyword_hands_off_without_asking_the_llm(world: dict[str, Any]) -> None:
    job = customer_says(world, world["a"], 4, "Quero falar com um ATENDENTE, por favor")
    assert world["pipeline"].process(job) == "handoff:customer_request"
    assert world["llm"].requests == []
    stub = world["chatwoot"]
    assert stub.replies(4) == ["Vou chamar um atendente. 😊"]
    notes = stub.successful("note", 4)
    assert len(notes) == 1 and "O cliente pediu um atendente" in notes[0].body["content"]  # the tenant's language
    assert [c.body for c in stub.successful("toggle_status", 4)] == [{"status": "open"}]
    # The bot now stays out of it, until the conversation is pending again.
    later = customer_says(world, world["a"], 4, "alô?", status="open")
    assert world["pipeline"].process(later) == "skipped:human"
    assert stub.replies(4) == ["Vou chamar um atendente. 😊"]
    back = customer_says(world, world["a"], 4, "tem tênis azul?", status="pending")
    assert world["pipeline"].process(back) == "answered:1"
    assert stub.replies(4)[-1] == ANSWER
    response_prompt = [p for p in world["llm"].prompts if "customer service assistant" in p][-1]
    assert "alô?" not in response_prompt.split("New message(s)")[1]  # the human handled that one


def test_intention_asking_for_a_human_or_low_confidence_hands_off(world: dict[str, Any]) -> None:
    world["llm"].on("Intention analyst", answer='{"intent":"human","language":"pt-BR","wants_human":true,'
                                                '"confidence":0.9}', times=1)
    assert world["pipeline"].process(customer_says(world, world["a"], 5, "me passa pra alguém")) == \
        "handoff:customer_request"
    world["llm"].on("Intention analyst", answer='{"intent":"other","language":"pt-BR","wants_human":false,'
                                                '"confidence":0.1}', times=1)
    assert world["pipeline"].process(customer_says(world, world["a"], 6, "qual a cor do céu em marte?")) == \
        "handoff:low_confidence"
    note = world["chatwoot"].successful("note", 6)[0].body["content"]
    assert "não tinha confiança" in note


def test_response_agent_handoff_token_hands_off(world: dict[str, Any]) -> None:
    world["llm"].on("customer service assistant", answer="HANDOFF", times=1)
    assert world["pipeline"].process(customer_says(world, world["a"], 7, "vocês consertam geladeira?")) == \
        "handoff:no_answer"
    assert world["chatwoot"].replies(7) == ["Vou verificar com a equipe e já te retorno."]  # not a "human" handoff


def test_without_llm_the_answer_comes_from_retrieval_alone(world: dict[str, Any]) -> None:
    config = world["configs"].configs[world["a"]]
    world["configs"].configs[world["a"]] = config.model_copy(update={"llm": None})
    assert world["pipeline"].process(customer_says(world, world["a"], 8, "tem tênis azul?")) == "answered:1"
    assert world["llm"].requests == []
    reply = world["chatwoot"].replies(8)[0]
    assert reply == "Tênis Azul Runner BR-42 R$ 299,90 tamanhos 38-44."  # the sentence that answers, no excerpt list


def test_llm_down_falls_back_to_retrieval_and_never_shows_errors(world: dict[str, Any]) -> None:
    world["llm"].fail_always = True
    assert world["pipeline"].process(customer_says(world, world["a"], 9, "tem tênis azul?")) == "answered:1"
    reply = world["chatwoot"].replies(9)[0]
    assert "Tênis Azul Runner BR-42" in reply
    for leak in ("500", "error", "Error", "stub failure", "Traceback"):
        assert leak not in reply


def test_everything_failing_hands_off_with_the_tenants_message(world: dict[str, Any]) -> None:
    world["llm"].fail_always = True
    world["search"].data[world["a"]] = {}
    assert world["pipeline"].process(customer_says(world, world["a"], 10, "qual o prazo?")) == "handoff:failure"
    assert world["chatwoot"].replies(10) == ["Vou chamar um atendente. 😊"]
    assert "falha técnica" in world["chatwoot"].successful("note", 10)[0].body["content"]


def test_slow_specialist_times_out_and_falls_back_to_its_hits(world: dict[str, Any]) -> None:
    def slow(_prompt: str, _request: dict[str, Any]) -> str:
        time.sleep(2.5)
        return "- late"

    world["llm"].on("Product specialist", answer=slow)
    factory: CrewFactory = world["factory"]
    factory.specialist_timeout_s = 1.0
    config = world["configs"].configs[world["a"]]
    plan = factory.plan(config, "whatsapp")
    result = factory.run(plan, config, world["a"], "default", Turn(["tem tênis azul?"], []), "sk")
    assert result.answer == ANSWER
    products = next(s for s in result.specialists if s.name == "products")
    assert (products.ok, products.fallback, products.error) == (False, True, "timeout")
    response_prompt = [p for p in world["llm"].prompts if "customer service assistant" in p][-1]
    assert "Tênis Azul Runner BR-42" in response_prompt  # the raw hit stood in for the late specialist
    time.sleep(2)  # let the late specialist finish before the stubs stop (not an assertion)


def test_only_enabled_collections_get_agents(world: dict[str, Any]) -> None:
    config = world["configs"].configs[world["a"]].model_copy(update={"enabled_collections": ["products"]})
    plan = world["factory"].plan(config, "instagram")
    assert plan.specialists == ["products"]
    assert plan.profile["max_length"] == 500
    config.channels = {"instagram": ChannelOverride(max_length=120)}
    assert world["factory"].plan(config, "instagram").profile["max_length"] == 120
    world["factory"].run(plan, config, world["a"], "default", Turn(["oi"], []), "sk")
    assert not any("Business rules specialist" in p for p in world["llm"].prompts)
    assert {c for _t, c, _q in world["search"].calls} == {"products"}


def test_the_reply_is_asked_for_in_the_customers_language(world: dict[str, Any]) -> None:
    world["llm"].on("Intention analyst", answer='{"intent":"product","language":"es","wants_human":false,'
                                                '"confidence":0.8}', times=1)
    world["llm"].on("customer service assistant", answer="¡Hola! Sí, tenemos el Tênis Azul Runner 42.", times=1)
    assert world["pipeline"].process(customer_says(world, world["a"], 11, "¿Tienen zapatillas azules?")) == \
        "answered:1"
    response_prompt = [p for p in world["llm"].prompts if "customer service assistant" in p][-1]
    assert "The customer writes in: es." in response_prompt
    assert "Write the reply in the customer's language (es;" in response_prompt
    assert world["chatwoot"].replies(11) == ["¡Hola! Sí, tenemos el Tênis Azul Runner 42."]


def test_a_handoff_interrupted_by_chatwoot_finishes_on_the_retry_without_repeats(world: dict[str, Any]) -> None:
    stub = world["chatwoot"]
    job = customer_says(world, world["a"], 12, "quero um atendente", status="open")
    stub.fail_next = 4  # the handoff message fails for good on the first run (4 attempts)
    with pytest.raises(Exception, match="after 4 attempts"):
        world["pipeline"].process(job)
    assert world["pipeline"].process(job) == "handoff:customer_request"  # the SQS retry
    assert stub.replies(12) == ["Vou chamar um atendente. 😊"]
    assert len(stub.successful("note", 12)) == 1 and len(stub.successful("toggle_status", 12)) == 1
    assert world["pipeline"].process(job) == "skipped:answered"
