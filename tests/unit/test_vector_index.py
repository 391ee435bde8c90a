"""Indexing and search against an in-memory Qdrant with a small deterministic model set of two encoders (no model
load): re-sends skip, changes re-embed, deletions and archived records go, and a tenant only ever sees its own
points, whatever leg finds them."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from chatwoot_ai.vector import search, sparse
from chatwoot_ai.vector.embeddings import Embedder
from chatwoot_ai.vector.indexing import index_message
from chatwoot_ai.vector.models import VectorizeMessage
from chatwoot_ai.vector.store import VectorStore


class BagOfStemsEncoder:
    """Hashes stems (salted by its name) into `dim` dimensions: similar words, similar vectors; counts every text
    it embeds."""

    def __init__(self, name: str = "bag", dim: int = 64, version: str = "1") -> None:
        self.name, self.dim = name, dim
        self.model_id = f"test/bag-of-stems-{name}-v{version}"
        self.embedded: list[str] = []

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dim
        for token in sparse.tokens(text) or ["empty"]:
            vector[int(hashlib.md5((self.name + token).encode()).hexdigest(), 16) % self.dim] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    def encode_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.embedded.extend(texts)
        return [self._vector(t) for t in texts]

    def encode_query(self, text: str) -> list[float]:
        return self._vector(text)


def two_models(version: str = "1") -> Embedder:
    """A model set of two encoders with different vector names and sizes, like e5 + USE."""
    return Embedder([BagOfStemsEncoder("a", 64, version), BagOfStemsEncoder("b", 48, version)])


class Env:
    """A private in-memory store and the fake embedder; nothing process-wide is touched."""

    def __init__(self) -> None:
        from qdrant_client import QdrantClient

        self.embedder = two_models()
        self.store = VectorStore(QdrantClient(location=":memory:"), local=True)

    @property
    def embedded(self) -> list[str]:
        return self.embedder.encoders[0].embedded  # type: ignore[attr-defined, no-any-return]

    def index(self, tenant: str, records: list[dict[str, Any]], collection: str = "products",
              delete_ids: list[str] | None = None) -> Any:
        message = VectorizeMessage(job_id="job", tenant_id=tenant, collection=collection, part=0, records=records,
                                   delete_ids=delete_ids or [])
        return index_message(message, self.store, self.embedder, chunking=(200, 40))

    def search(self, tenant: str, collection: str, query: str, limit: int = 5, **kwargs: Any) -> list[Any]:
        return search(tenant, collection, query, limit, store=self.store, embedder=self.embedder, **kwargs)


@pytest.fixture
def env() -> Iterator[Env]:
    created = Env()
    yield created
    created.store.client.close()


PRODUCTS = [
    {"id": "1", "text": "Gel de limpeza facial para pele oleosa com ácido salicílico", "metadata": {"sku": "GEL-1"}},
    {"id": "2", "text": "Protetor solar facial FPS 50 com cor", "metadata": {"sku": "PROT-2"}},
    {"id": "3", "text": "Sabonete em barra para pele seca com manteiga de karité", "metadata": {"sku": "SAB-3"}},
]


def test_indexed_records_are_searchable_with_their_text_and_metadata(env: Env) -> None:
    result = env.index("t1", PRODUCTS)
    assert (result.processed, result.skipped, result.chunks) == (3, 0, 3)
    hits = env.search("t1", "products", "protetor solar", limit=2)
    assert hits[0].id == "2"
    assert hits[0].text == PRODUCTS[1]["text"]
    assert hits[0].metadata == {"sku": "PROT-2"}
    assert len(hits) == 2


def test_resending_unchanged_records_embeds_nothing(env: Env) -> None:
    env.index("t1", PRODUCTS)
    embedded = len(env.embedded)
    again = env.index("t1", PRODUCTS)
    assert (again.processed, again.skipped, again.chunks) == (3, 3, 0)
    assert len(env.embedded) == embedded
    assert env.store.count("products", "t1") == 3


def test_changed_text_is_reembedded_and_metadata_only_change_is_not(env: Env) -> None:
    env.index("t1", PRODUCTS)
    before = len(env.embedded)
    changed = [dict(PRODUCTS[0], text="Gel de limpeza com chá verde"), dict(PRODUCTS[1], metadata={"sku": "NEW"}),
               PRODUCTS[2]]
    result = env.index("t1", changed)
    assert result.skipped == 2 and result.chunks == 1
    assert env.embedded[before:] == ["Gel de limpeza com chá verde"]
    assert env.search("t1", "products", "chá verde", limit=1)[0].text == "Gel de limpeza com chá verde"
    assert env.search("t1", "products", "protetor solar", limit=1)[0].metadata == {"sku": "NEW"}


def test_long_text_is_chunked_and_shrinking_removes_stale_chunks(env: Env) -> None:
    long_text = ". ".join(f"Frase número {i} sobre a política de devolução de produtos" for i in range(20))
    result = env.index("t1", [{"id": "doc", "text": long_text}], collection="support_documents")
    assert result.chunks > 3
    store = env.store
    assert store.count("support_documents", "t1") == result.chunks
    hits = env.search("t1", "support_documents", "devolução", limit=5)
    assert [h.id for h in hits] == ["doc"]  # one hit per record, whatever the number of chunks
    env.index("t1", [{"id": "doc", "text": "Política curta de devolução."}], collection="support_documents")
    assert store.count("support_documents", "t1") == 1


def test_delete_ids_and_archived_records_are_removed(env: Env) -> None:
    env.index("t1", PRODUCTS)
    result = env.index("t1", [dict(PRODUCTS[2], archived=True)], delete_ids=["1", "404"])
    assert result.deleted == 2 and result.processed == 0
    assert {h.id for h in env.search("t1", "products", "gel sabonete protetor", limit=5)} == {"2"}
    env.index("t1", [dict(PRODUCTS[1], metadata={"active": False})])
    assert env.search("t1", "products", "protetor", limit=5) == []


def test_tenant_isolation_whatever_the_query_or_filter(env: Env) -> None:
    env.index("tenant_a", PRODUCTS)
    secret = [{"id": "1", "text": "Segredo da loja B: protetor solar FPS 50 gel",
               "metadata": {"tenant_id": "tenant_a"}}]
    env.index("tenant_b", secret)
    for mode in ("hybrid", "dense", "sparse"):
        for query in ("Segredo da loja B", "protetor solar FPS 50 gel", "tenant_b", "*"):
            hits = env.search("tenant_a", "products", query, limit=10, mode=mode)
            assert all("Segredo" not in h.text for h in hits), (mode, query)
        # a filter naming the other tenant only narrows the caller's own records
        assert env.search("tenant_a", "products", "segredo", limit=10, mode=mode,
                      metadata_filter={"tenant_id": "tenant_b"}) == []
        b_hits = env.search("tenant_b", "products", "protetor", limit=10, mode=mode)
        assert [h.text for h in b_hits] == [secret[0]["text"]]
    # same record id in both tenants: two points, and deleting in one leaves the other
    env.index("tenant_a", [], delete_ids=["1"])
    assert [h.text for h in env.search("tenant_b", "products", "segredo", limit=5)] == [secret[0]["text"]]
    assert env.search("unknown_tenant", "products", "protetor", limit=5) == []


def test_sparse_scores_use_the_tenants_own_statistics(env: Env) -> None:
    """Another tenant flooding the collection with a word must not change this tenant's scores."""
    env.index("t1", PRODUCTS)
    before = [(h.id, round(h.score, 6)) for h in env.search("t1", "products", "protetor gel", limit=3, mode="sparse")]
    env.index("noisy", [{"id": str(i), "text": f"protetor protetor {i}"} for i in range(30)])
    after = [(h.id, round(h.score, 6)) for h in env.search("t1", "products", "protetor gel", limit=3, mode="sparse")]
    assert before == after


def test_metadata_filter_narrows(env: Env) -> None:
    env.index("t1", PRODUCTS)
    hits = env.search("t1", "products", "pele", limit=5, metadata_filter={"sku": ["SAB-3", "GEL-1"]})
    assert {h.id for h in hits} == {"1", "3"}


def test_search_in_a_collection_never_written_is_empty(env: Env) -> None:
    assert env.search("t1", "business_rules", "desconto") == []
