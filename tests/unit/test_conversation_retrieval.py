"""What the crew searches and what it does with the gate's verdict (no models: a recording fake search)."""

from __future__ import annotations

from typing import Any

from chatwoot_ai.conversation.answer import extractive_answer
from chatwoot_ai.conversation.crew import CrewFactory, CrewPlan, Turn
from chatwoot_ai.conversation.retrieval import Retriever, retrieval_query
from chatwoot_ai.models import TenantConfig
from chatwoot_ai.vector.models import SearchHit


def test_a_follow_up_is_searched_with_the_customers_previous_message() -> None:
    history = [("customer", "vcs fazem drenagem linfatica?"), ("assistant", "Sim! Fazemos drenagem.")]
    assert retrieval_query("e quanto custa?", history) == "vcs fazem drenagem linfatica? e quanto custa?"
    assert retrieval_query("qual o prazo de devolução?", history) == "qual o prazo de devolução?"
    assert retrieval_query("e quanto custa?", []) == "e quanto custa?"


class RecordingSearch:
    """Answers per collection; the gate's verdict is modelled by returning nothing."""

    def __init__(self, found: dict[str, list[SearchHit]]) -> None:
        self.found = found
        self.queries: list[tuple[str, str]] = []

    def __call__(self, tenant_id: str, collection: str, query: str, limit: int = 5) -> list[Any]:
        self.queries.append((collection, query))
        return self.found.get(collection, [])


def _plan() -> CrewPlan:
    return CrewPlan("whatsapp", {}, ["business_rules", "support_documents", "products"], use_llm=False)


def test_without_anything_relevant_the_answer_from_retrieval_is_a_handoff() -> None:
    search = RecordingSearch({})
    factory = CrewFactory(lambda tenant: Retriever(tenant, search))
    config = TenantConfig.model_validate({"company": {"name": "Loja", "language": "pt-BR"}})
    turn = Turn(messages=["e para o interior?"], history=[("customer", "qual o prazo de entrega pra capital?")])
    result = factory.run(_plan(), config, "loja", "default", turn, None)
    assert result.answer is None and result.handoff is not None and result.handoff.reason == "no_answer"
    assert {q for _, q in search.queries} == {"qual o prazo de entrega pra capital? e para o interior?"}


def test_the_answer_from_retrieval_ranks_hits_by_relevance_across_collections() -> None:
    search = RecordingSearch({
        "products": [SearchHit(id="1", score=9.0, relevance=0.41, text="Gel de limpeza")],
        "support_documents": [SearchHit(id="d1", score=0.2, relevance=0.97, text="Prazo de entrega: 3 dias")],
    })
    retriever = Retriever("loja", search)
    hits = {c: retriever.search(c, "prazo de entrega") for c in ("products", "support_documents")}
    answer = extractive_answer(hits, "prazo de entrega")
    assert answer is not None and "Prazo de entrega" in answer and "Gel" not in answer


def test_internal_records_guide_the_model_but_never_the_extractive_answer() -> None:
    from chatwoot_ai.vector.models import VectorRecord

    record = VectorRecord.model_validate({"id": 9, "text": "Estoque Mínimo. Repor abaixo de 5.",
                                          "visibility": "internal"})
    assert record.metadata == {"visibility": "internal"}  # kept in the payload with the metadata
    search = RecordingSearch({
        "business_rules": [SearchHit(id="9", score=1.0, relevance=0.99, text=record.text, metadata=record.metadata)],
        "products": [SearchHit(id="1", score=1.0, relevance=0.5, text="Gel de limpeza. Estoque renovado toda semana.",
                               metadata={})],
    })
    retriever = Retriever("loja", search)
    hits = {c: retriever.search(c, "qual o estoque mínimo?") for c in ("business_rules", "products")}
    answer = extractive_answer(hits, "qual o estoque mínimo?")
    assert answer is not None and "Repor" not in answer and "Estoque renovado" in answer
    from chatwoot_ai.conversation.retrieval import context_text

    assert context_text(hits["business_rules"]).startswith("[1] (INTERNAL, guidance only: never quote or disclose)")
