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


# ------------------------------------------------------------------ model sets, fusion, codes, the gate, re-index


def test_every_point_holds_one_vector_per_model_and_keeps_its_deterministic_id(env: Env) -> None:
    from chatwoot_ai.vector.ids import point_id

    env.index("t1", PRODUCTS)
    env.index("t2", PRODUCTS)
    ids = [point_id(t, "products", r["id"], 0) for t in ("t1", "t2") for r in PRODUCTS]
    points = env.store.client.retrieve("products", ids=ids, with_vectors=True, with_payload=True)
    assert len(points) == 6  # same record ids in two tenants: two points each, never one overwriting the other
    for point in points:
        assert set(point.vector) == {"a", "b", "sparse"}
        assert (len(point.vector["a"]), len(point.vector["b"])) == (64, 48)
    info = env.store.client.get_collection("products")
    assert info.config.metadata["models"] == env.embedder.models


def test_fusion_uses_both_dense_vectors(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """A word only model `b` knows decides the order: with `b` weighed 0 the other record comes first."""
    from chatwoot_ai.settings import reset_settings

    class Deaf(BagOfStemsEncoder):
        """Model `a` ignores the word "karite": only `b` can tell the two records apart on it."""

        def _vector(self, text: str) -> list[float]:
            return super()._vector(text.lower().replace("karité", "").replace("karite", ""))

    env.embedder = Embedder([Deaf("a", 64), BagOfStemsEncoder("b", 48)])
    env.index("t1", [{"id": "plain", "text": "Sabonete suave"},
                     {"id": "karite", "text": "Sabonete facial em barra com karité"},
                     {"id": "other", "text": "Protetor solar"}])
    try:
        firsts = []
        for weights in ("sparse=0,b=0", "sparse=0,b=3"):
            monkeypatch.setenv("SEARCH_LEG_WEIGHTS", weights)
            reset_settings()
            firsts.append(env.search("t1", "products", "sabonete karite", limit=3, mode="dense")[0].id)
        assert firsts == ["plain", "karite"]  # `a` alone prefers the shorter text; `b` overturns it
    finally:
        monkeypatch.delenv("SEARCH_LEG_WEIGHTS")
        reset_settings()


def test_a_code_the_customer_types_puts_its_record_first_and_only_in_their_tenant(env: Env) -> None:
    records = [{"id": str(i), "text": f"Protetor solar facial FPS {30 + i}", "metadata": {"sku": f"PROT-{i}-00{i}"}}
               for i in range(1, 6)]
    env.index("t1", records)
    env.index("t2", [{"id": "9", "text": "Produto secreto", "metadata": {"sku": "SEG-9-009"}}])
    assert env.search("t1", "products", "o prot-4-004 tem?", limit=3)[0].id == "4"
    hits = env.search("t1", "products", "SEG-9-009", limit=5)
    assert all(h.text != "Produto secreto" for h in hits)


def test_the_gate_answers_nothing_below_the_threshold(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from chatwoot_ai.settings import reset_settings
    from chatwoot_ai.vector.search import retrieve

    env.index("t1", PRODUCTS)
    monkeypatch.setenv("SEARCH_MIN_RELEVANCE_BY_COLLECTION", "products=0.6")
    reset_settings()
    try:
        found = retrieve("t1", "products", "protetor solar facial", 3, store=env.store, embedder=env.embedder)
        assert found.answerable and found.hits[0].id == "2" and all(h.relevant for h in found.hits)
        assert all(h.relevance >= 0.6 for h in found.hits)
        nothing = retrieve("t1", "products", "vocês vendem ração de cachorro?", 3, store=env.store,
                           embedder=env.embedder)
        assert (nothing.answerable, nothing.hits, nothing.reason, nothing.threshold) == (
            False, [], "below_threshold", 0.6)
        flagged = retrieve("t1", "products", "vocês vendem ração de cachorro?", 3, store=env.store,
                           embedder=env.embedder, gate=False)
        assert flagged.hits and not any(h.relevant for h in flagged.hits)
    finally:
        monkeypatch.delenv("SEARCH_MIN_RELEVANCE_BY_COLLECTION")
        reset_settings()


def test_relevance_is_calibrated_per_model_set() -> None:
    from chatwoot_ai.vector.search import relevance

    calibration = {"a": 10.0, "a_margin": 50.0, "bias": -9.0}
    strong = relevance({"a": 0.9, "a_margin": 0.08}, calibration)
    weak = relevance({"a": 0.85, "a_margin": 0.0}, calibration)
    assert 0.0 < weak < 0.5 < strong < 1.0
    assert relevance({"a": 0.7, "a_margin": 0.1}, None) == pytest.approx(0.7)  # unknown set: the mean cosine


def test_a_new_model_set_never_queries_old_vectors_and_reindexing_brings_the_collection_back(env: Env) -> None:
    from chatwoot_ai.vector.reindex import reindex_collection
    from chatwoot_ai.vector.search import retrieve
    from chatwoot_ai.vector.store import CollectionMismatch

    env.index("t1", PRODUCTS)
    env.index("t2", PRODUCTS[:1])
    before = {p.id: p.payload for p in env.store.client.scroll("products", limit=100)[0]}
    new_models = two_models(version="2")
    found = retrieve("t1", "products", "protetor solar", 3, store=env.store, embedder=new_models)
    assert (found.hits, found.answerable, found.reason) == ([], False, "reindex_needed")
    message = VectorizeMessage(job_id="j", tenant_id="t1", collection="products", part=0, records=PRODUCTS)
    with pytest.raises(CollectionMismatch):
        index_message(message, env.store, new_models, chunking=(200, 40))

    assert reindex_collection(env.store, "products", new_models) == 4
    after = {p.id: p.payload for p in env.store.client.scroll("products", limit=100)[0]}
    assert after == before  # same ids, tenants, texts, hashes
    assert env.store.client.get_collection("products").config.metadata["models"] == new_models.models
    assert not env.store.client.collection_exists("products__reindex")
    hits = retrieve("t1", "products", "protetor solar", 3, store=env.store, embedder=new_models, gate=False).hits
    assert hits[0].id == "2"
    assert retrieve("t1", "products", "protetor", 3, store=env.store, embedder=env.embedder).reason == \
        "reindex_needed"  # and the old set may not read the new vectors either
    again = index_message(message, env.store, new_models, chunking=(200, 40))
    assert (again.skipped, again.chunks) == (3, 0)  # unchanged records stay unchanged after a re-index


def test_reindex_job_reports_progress_step_by_step(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from chatwoot_ai.vector import reindex

    class Jobs:
        def __init__(self) -> None:
            self.job: dict[str, Any] = {}
            self.parts: set[int] = set()

        def create(self, job_id: str, tenant_id: str, collection: str, total: int, parts: int, kind: str,
                   status: str = "queued") -> None:
            self.job = {"job_id": job_id, "tenant_id": tenant_id, "collection": collection, "total": total,
                        "parts": parts, "kind": kind, "status": status, "processed": 0}

        def get(self, job_id: str) -> dict[str, Any] | None:
            return dict(self.job)

        def set_status(self, job_id: str, status: str, only_from: tuple[str, ...] = ()) -> None:
            if not only_from or self.job["status"] in only_from:
                self.job["status"] = status

        def set_plan(self, job_id: str, total: int, parts: int) -> None:
            self.job.update(total=total, parts=parts)

        def finish_part(self, job_id: str, part: int, *, ok: bool, **counters: int) -> dict[str, Any] | None:
            if part in self.parts:
                return None
            self.parts.add(part)
            self.job["processed"] += counters.get("processed", 0)
            if len(self.parts) >= self.job["parts"]:
                self.job["status"] = "done"
            return dict(self.job)

    class Sqs:
        def __init__(self) -> None:
            self.sent: list[dict[str, Any]] = []

        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
            self.sent.extend(json.loads(e["MessageBody"]) for e in Entries)
            return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

        def send_message(self, QueueUrl: str, MessageBody: str) -> dict[str, Any]:
            self.sent.append(json.loads(MessageBody))
            return {}

    env.index("t1", PRODUCTS)
    env.index("t2", PRODUCTS[:2])
    jobs, sqs, new_models = Jobs(), Sqs(), two_models(version="2")
    monkeypatch.setattr(reindex, "PAGE", 2)
    started = reindex.start_reindex("products", env.store, jobs, sqs, "queue")  # type: ignore[arg-type]
    assert started["total"] == 5 and jobs.job["kind"] == "reindex"
    steps = 0
    while sqs.sent:
        body = sqs.sent.pop(0)
        reindex.run_reindex_step(body, jobs, sqs, "queue", env.store, new_models, budget_s=0)  # type: ignore[arg-type]
        if steps == 0:  # a redelivered step counts once and queues no second chain
            reindex.run_reindex_step(body, jobs, sqs, "queue", env.store, new_models, budget_s=0)  # type: ignore[arg-type]
            assert len(sqs.sent) == 1
        steps += 1
    assert steps == 3
    assert (jobs.job["status"], jobs.job["processed"], jobs.job["total"]) == ("done", 5, 5)
    assert env.store.models_of("products") == new_models.models
    assert env.store.count("products", "t2") == 2


def test_a_short_candidate_pool_is_filled_with_the_prior() -> None:
    """A tenant with one record: the margin is measured against the prior, not against the record itself."""
    from chatwoot_ai.vector.search import MARGIN_POOL, pool_means
    from chatwoot_ai.vector.store import Found

    legs = {"a": [Found("p1", 0.9)], "b": [Found(f"p{i}", 0.5) for i in range(40)]}
    pools = pool_means(legs, ["a", "b"], {"a": 0.8, "b": 0.1})
    assert pools["a"] == pytest.approx((0.9 + 0.8 * (MARGIN_POOL - 1)) / MARGIN_POOL)
    assert pools["b"] == pytest.approx(0.5)  # a full pool needs no prior
    assert pool_means(legs, ["a"], {}) == {"a": pytest.approx(0.9)}


def test_a_collection_created_by_another_process_meanwhile_is_used_not_an_error() -> None:
    """Two worker environments index the first records of a collection at once: both saw it missing, the second
    create fails ("already exists"), and that one goes on with the collection the first made."""
    from qdrant_client import QdrantClient

    client = QdrantClient(location=":memory:")
    models = {"e5": {"model": "m", "dim": 4}}
    first, second = VectorStore(client, local=True), VectorStore(client, local=True)
    second._models = {}  # it looked before the first one created it
    assert first.models_of("products") is None and second.models_of("products") is None
    first.ensure_collection("products", models)
    second._models.pop("products", None)
    real = second.models_of
    calls = iter([None])  # its own check still sees nothing, then the create fails
    second.models_of = lambda name: next(calls, None) or real(name)  # type: ignore[method-assign]
    second.ensure_collection("products", models)
    assert real("products") == models
