"""pt-BR retrieval quality with the real offline model: hybrid (dense + pt-BR keywords, RRF) must beat dense alone
on the demo store's customer questions (tests/support/ptbr_eval.py). `make bench` reports the same figures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.ptbr_eval import QUESTIONS, corpus, evaluate

from chatwoot_ai.vector import search
from chatwoot_ai.vector.embeddings import get_embedder
from chatwoot_ai.vector.indexing import index_message
from chatwoot_ai.vector.models import VectorizeMessage
from chatwoot_ai.vector.store import VectorStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_store() -> Iterator[VectorStore]:
    from qdrant_client import QdrantClient

    store = VectorStore(QdrantClient(location=":memory:"), local=True)
    for collection, records in corpus().items():
        message = VectorizeMessage(job_id="eval", tenant_id="demo", collection=collection, part=0, records=records)
        index_message(message, store, get_embedder())
    # a second tenant with the same catalogue under other ids must change nothing
    for collection, records in corpus().items():
        other = [dict(r, id=f"other-{r['id']}") for r in records]
        index_message(VectorizeMessage(job_id="eval", tenant_id="other", collection=collection, part=0,
                                       records=other), store, get_embedder())
    yield store
    store.client.close()


def _searcher(store: VectorStore, mode: Any) -> Any:
    return lambda collection, query, limit: search("demo", collection, query, limit, mode=mode, store=store)


def test_eval_set_covers_every_collection_with_known_records() -> None:
    records = {c: {r["id"] for r in rs} for c, rs in corpus().items()}
    assert len(QUESTIONS) >= 30
    for question in QUESTIONS:
        assert question.expected in records[question.collection], question


def test_hybrid_beats_dense_on_ptbr_questions(demo_store: VectorStore) -> None:
    dense = evaluate(_searcher(demo_store, "dense"))
    hybrid = evaluate(_searcher(demo_store, "hybrid"))
    print(f"\ndense top1={dense.top1:.3f} mrr={dense.mrr:.3f}; hybrid top1={hybrid.top1:.3f} mrr={hybrid.mrr:.3f}")
    assert hybrid.top1 > dense.top1
    assert hybrid.mrr > dense.mrr
    assert hybrid.top1 >= 0.8, hybrid.misses


def test_no_hit_ever_comes_from_the_other_tenant(demo_store: VectorStore) -> None:
    for question in QUESTIONS[:10]:
        hits = search("demo", question.collection, question.text, 10, store=demo_store)
        assert hits and not any(h.id.startswith("other-") for h in hits)
