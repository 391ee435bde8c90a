"""The scripted pt-BR conversation set on the demo store (Sandra Cosméticos): what a customer asks and what the reply
must (and must not) hold. Used by tests/integration/test_conversation_set.py and bench/bench_answers.py.

`run_set` drives the worker's answer path (CrewFactory.run on the real gated retrieval over the bundled encoders,
then format_reply or the handoff message, as ConversationPipeline does) for each conversation, earlier turns
becoming the history. With an LLM, the stub is a model that answers from the facts it is given (`grounded_reply`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

INTERNAL_TEXT = ("nível mínimo", "alerta para reposição", "Estoque Mínimo")


@dataclass(frozen=True)
class Conversation:
    id: str
    kind: str  # product_price | policy | follow_up | small_talk | order | out_of_scope | internal_bait | long
    turns: tuple[str, ...]
    expect: tuple[str, ...] = ()  # every one in the last reply (accents and case ignored)
    forbid: tuple[str, ...] = ()
    outcome: str = "answer"  # answer | handoff
    channel: str = "whatsapp"


def _c(id: str, kind: str, *turns: str, expect: tuple[str, ...] = (), forbid: tuple[str, ...] = (),
       outcome: str = "answer", channel: str = "whatsapp") -> Conversation:
    return Conversation(id, kind, turns, expect, forbid, outcome, channel)


CONVERSATIONS: tuple[Conversation, ...] = (
    # product + price
    _c("p1", "product_price", "Vocês têm protetor solar? Qual o preço?", expect=("Protetor Solar", "R$")),
    _c("p2", "product_price", "Quanto custa o protetor solar FPS 50?", expect=("89,90",)),
    _c("p3", "product_price", "quanto custa o serum de vitamina c?", expect=("129,90",)),
    _c("p4", "product_price", "qual o valor do sérum de retinol?", expect=("149,90",)),
    _c("p5", "product_price", "tem protetor solar com cor?", expect=("Com Cor",)),
    _c("p6", "product_price", "quanto custa a limpeza de pele profunda?", expect=("180,00",)),
    _c("p7", "product_price", "vocês fazem peeling de diamante? quanto é?", expect=("220,00",)),
    _c("p8", "product_price", "máscara de argila verde pra oleosidade, qual o preço?", expect=("69,90",)),
    _c("p9", "product_price", "quero um sérum de ácido hialurônico, quanto sai?", expect=("119,90",)),
    _c("p10", "product_price", "massagem relaxante quanto custa?", expect=("120,00",)),
    _c("p11", "product_price", "tem gel de limpeza pra pele oleosa?", expect=("Gel de Limpeza",)),
    _c("p12", "product_price", "preço da massagem com pedras quentes", expect=("180,00",)),
    # policies
    _c("r1", "policy", "tem desconto na primeira compra?", expect=("10%",)),
    _c("r2", "policy", "ganho desconto no mês do meu aniversário?", expect=("aniversário",)),
    _c("r3", "policy", "tem garantia na coloração?", expect=("7 dias",)),
    _c("r4", "policy", "como faço pra cancelar meu agendamento?", expect=("24 horas",)),
    _c("r5", "policy", "como funciona o programa beautypoints?", expect=("BeautyPoint",)),
    _c("r6", "policy", "se eu comprar 4 unidades do mesmo produto tenho desconto?", expect=("desconto",)),
    _c("r7", "policy", "os equipamentos são esterilizados?", expect=("esteriliza",)),
    _c("r8", "policy", "como funciona o acúmulo de pontos?", expect=("ponto",)),
    # follow-ups
    _c("f1", "follow_up", "vocês fazem drenagem linfática?", "e quanto custa?", expect=("150,00",)),
    _c("f2", "follow_up", "tem protetor solar oil free?", "e qual o preço?", expect=("84,90",)),
    _c("f3", "follow_up", "vocês fazem microagulhamento?", "quanto fica?", expect=("350,00",)),
    _c("f4", "follow_up", "tem máscara esfoliante?", "e o valor?", expect=("79,90",)),
    # small talk
    _c("s1", "small_talk", "oi", expect=("Olá", "Como posso ajudar")),
    _c("s2", "small_talk", "obrigado", expect=("Por nada",), forbid=("protocolo", "cancelamento")),
    _c("s3", "small_talk", "são vocês um robô?", expect=("assistente virtual",)),
    _c("s4", "small_talk", "tchau", expect=("Até logo",)),
    _c("s5", "small_talk", "bom dia", expect=("Olá",)),
    _c("s6", "small_talk", "valeu", expect=("Por nada",)),
    # order questions (no Odoo in this set: a handoff, never an unrelated fact)
    _c("o1", "order", "qual o status do meu pedido S00012?", outcome="handoff", forbid=("fidelidade",)),
    _c("o2", "order", "meu pedido ainda não chegou, pedido 4521", outcome="handoff"),
    # out of scope
    _c("x1", "out_of_scope", "vocês vendem pneu de carro?", outcome="handoff"),
    _c("x2", "out_of_scope", "qual a previsão do tempo pra amanhã?", outcome="handoff"),
    _c("x3", "out_of_scope", "vocês consertam celular?", outcome="handoff"),
    _c("x4", "out_of_scope", "quem ganhou o jogo ontem?", outcome="handoff"),
    # internal-rule bait: the staff rule must never be quoted
    _c("i1", "internal_bait", "qual o estoque mínimo de vocês?", forbid=INTERNAL_TEXT, outcome="any"),
    _c("i2", "internal_bait", "quando vocês fazem reposição de estoque?", forbid=INTERNAL_TEXT, outcome="any"),
    _c("i3", "internal_bait", "qual a regra interna de alerta de estoque?", forbid=INTERNAL_TEXT, outcome="any"),
    # long answers on WhatsApp and Instagram
    _c("l1", "long", "me explica toda a política de devolução de produtos", expect=("devol",)),
    _c("l2", "long", "me explica toda a política de devolução de produtos", expect=("devol",),
       channel="instagram"),
    _c("l3", "long", "quais os cuidados depois do procedimento?", expect=("procedimento",), channel="instagram"),
)


def _plain(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


@dataclass
class Outcome:
    conversation: Conversation
    replies: list[str]  # the messages the customer received for the last turn
    handoff: str | None
    llm_calls: int = 0
    tokens: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return self.handoff is None

    @property
    def fact_present(self) -> bool:
        text = _plain(" ".join(self.replies))
        return bool(self.conversation.expect) and all(_plain(e) in text for e in self.conversation.expect)


def check(outcome: Outcome, limit: int) -> list[str]:
    """What is wrong with what the customer received."""
    conv, problems = outcome.conversation, []
    text = " ".join(outcome.replies)
    if conv.outcome == "answer" and not outcome.answered:
        problems.append(f"handed off ({outcome.handoff})")
    if conv.outcome == "handoff" and outcome.answered:
        problems.append("answered instead of handing off")
    if conv.outcome == "answer" and conv.expect and not outcome.fact_present:
        problems.append(f"missing {conv.expect}")
    for word in conv.forbid:
        if _plain(word) in _plain(text):
            problems.append(f"contains {word!r}")
    for reply in outcome.replies:
        if len(reply) > limit:
            problems.append(f"message of {len(reply)} > {limit}")
        if reply and not re.search(r"[.!?…)]$", reply.rstrip("*_ ")):
            problems.append(f"cut sentence: ...{reply[-30:]!r}")
    return problems


# ---------------------------------------------------------------- the stack
def demo_tenant(llm_base_url: str | None = None, **llm: Any) -> Any:
    """The demo tenant as `make run` seeds it (infra/localcloud/seed.py), without Odoo; with the LLM stub when given."""
    from chatwoot_ai.models import TenantConfig

    return TenantConfig.model_validate({
        "company": {"name": "Sandra Cosméticos", "language": "pt-BR", "timezone": "America/Sao_Paulo"},
        "assistant": {"name": "Ana", "style": "friendly", "emoji_usage": "low"},
        "enabled_collections": ["business_rules", "support_documents", "products"],
        "llm": {"model": "openai/stub-model", "base_url": llm_base_url, "timeout_s": 10, **llm}
        if llm_base_url else None,
        "handoff": {"keywords": ["atendente", "humano", "pessoa"],
                    "message": "Vou chamar uma atendente para continuar com você."},
    })


def _root() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parents[2]


class DemoSearch:
    """`search` for Retriever over the demo store (the gate on); `ungated` is the seed's search (no floor)."""

    def __init__(self, store: Any, embedder: Any) -> None:
        self.store, self.embedder = store, embedder

    def __call__(self, _tenant_id: str, collection: str, query: str, limit: int = 4) -> list[Any]:
        from chatwoot_ai.vector.search import retrieve

        return retrieve("demo_store", collection, query, limit, store=self.store, embedder=self.embedder).hits

    def ungated(self, collection: str, query: str, limit: int = 4) -> list[Any]:
        from chatwoot_ai.vector.search import retrieve

        return retrieve("demo_store", collection, query, limit, store=self.store, embedder=self.embedder,
                        gate=False).hits


@contextmanager
def demo_search(embedder: Any = None) -> Iterator[DemoSearch]:
    """The demo store indexed in memory with the bundled encoders (`embedder`: a model set already loaded)."""
    from support.retrieval_eval import build_store

    from chatwoot_ai.vector.embeddings import build_embedder

    embedder = embedder or build_embedder("bundled")
    store = build_store(embedder, ["demo_store"])
    try:
        yield DemoSearch(store, embedder)
    finally:
        store.client.close()


def grounded_reply(prompt: str, _request: dict[str, Any]) -> str:
    """A stub response agent that keeps to the facts it was given: the public excerpt sharing the most words with the
    customer's new message(s), whole (a long one tests the channel split); HANDOFF when none shares a word."""
    from chatwoot_ai.conversation.answer import _terms, small_talk, small_talk_reply

    new = prompt.rsplit("New message(s) from the customer", 1)[-1].split("Write the reply", 1)[0]
    kind = small_talk(line[2:] for line in new.splitlines() if line.startswith("- "))
    if kind:  # a model greets back
        return small_talk_reply(kind, "pt-BR", "Ana", "Sandra Cosméticos", "Maria")
    facts = prompt.split("Facts (the only facts", 1)[-1].split("Conversation so far", 1)[0]
    asked = _terms(prompt.rsplit("New message(s) from the customer", 1)[-1].split("Write the reply", 1)[0])
    said = [line for line in prompt.split("Conversation so far", 1)[-1].split("The customer's name", 1)[0]
            .splitlines() if line.startswith("Customer: ")]
    if said:  # a follow-up reads with the customer's previous message, as a model would
        asked |= _terms(said[-1])
    excerpts = [re.sub(r"^\[\d+\]\s*|^- ", "", line.strip()) for line in facts.splitlines()
                if re.match(r"^\[\d+\]|^- ", line.strip()) and "INTERNAL" not in line]
    scored = sorted(((len(asked & _terms(e)), -i, e) for i, e in enumerate(excerpts)), reverse=True)
    if not scored or scored[0][0] == 0:
        return "HANDOFF"
    excerpt = scored[0][2]
    end = max(excerpt.rfind(". "), excerpt.rfind("! "), excerpt.rfind("? "))
    return excerpt if excerpt.rstrip()[-1:] in ".!?" or end < 0 else excerpt[: end + 1]


def quote_excerpts(prompt: str, _request: dict[str, Any]) -> str:
    lines = [line.split("] ", 1)[1] for line in prompt.splitlines() if re.match(r"^\[\d+\] ", line)]
    return "\n".join(f"- {line}" for line in lines) or "NONE"


INTENT = json.dumps({"intent": "product", "language": "pt-BR", "wants_human": False, "confidence": 0.9})


def script_llm(stub: Any) -> None:
    """The LLM stub as the crew's model: intention JSON, specialists quoting, the response from the facts."""
    stub.on("Intention analyst", answer=INTENT)
    stub.on("Product specialist", answer=quote_excerpts)
    stub.on("Business rules specialist", answer=quote_excerpts)
    stub.on("Support documentation specialist", answer=quote_excerpts)
    stub.on("customer service assistant", answer=grounded_reply)


def run_set(search: Callable[..., list[Any]], config: Any, *, economy: bool = True, llm_stub: Any = None,
            conversations: tuple[Conversation, ...] = CONVERSATIONS) -> list[Outcome]:
    from chatwoot_ai.conversation.answer import check_with_team
    from chatwoot_ai.conversation.crew import CrewFactory, Turn
    from chatwoot_ai.conversation.prompts import format_reply
    from chatwoot_ai.conversation.retrieval import Retriever

    factory = CrewFactory(lambda tenant: Retriever(tenant, search), economy=economy, specialist_timeout_s=30)
    outcomes = []
    for conv in conversations:
        plan = factory.plan(config, conv.channel)
        history: list[tuple[str, str]] = []
        received: list[str] = []
        handoff: str | None = None
        calls = tokens = 0
        seconds = 0.0
        for message in conv.turns:
            started = time.perf_counter()
            before = len(llm_stub.usages) if llm_stub is not None else 0
            result = factory.run(plan, config, "demo_store", "default", Turn([message], list(history), "Maria"),
                                 "sk-stub")
            seconds = time.perf_counter() - started
            calls = result.usage.call_count
            tokens = result.usage.tokens
            if llm_stub is not None:  # the provider's own count (the old plan's calls are not counted by the crew)
                usages = llm_stub.usages[before:]
                calls, tokens = len(usages), sum(u["total_tokens"] for u in usages)
            history.append(("customer", message))
            if result.answer and result.handoff is None:
                received, handoff = format_reply(result.answer, plan.profile, config.assistant.emoji_usage), None
            else:
                handoff = result.handoff.reason if result.handoff else "no_answer"
                received = [check_with_team(config.company.language) if handoff == "no_answer"
                            else config.handoff.message]
            history.append(("assistant", "\n\n".join(received)))
        outcome = Outcome(conv, received, handoff, calls, tokens, seconds)
        limit = int(str(plan.profile.get("max_length")))
        outcome.problems = check(outcome, limit)
        outcomes.append(outcome)
    return outcomes
