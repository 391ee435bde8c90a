"""The retrieval evaluation (tests/fixtures/eval): three shops' records, each shop a tenant of one store, and their
customers' questions with the dev/test split fixed in the files. Used by tests/integration/test_retrieval_eval.py,
bench/bench_retrieval.py and bench/tune_retrieval.py.

Metrics:
- top-1, MRR (within 10): over questions that have an answer, on the ranking alone (the gate does not hide hits);
- no-answer precision / recall: the gate says "nothing relevant" (`answerable` false); precision = how many of
  those really have no answer in the shop's records, recall = how many of the questions without an answer it caught;
- answered right: questions with an answer whose top hit is right and passes the gate (what a customer gets);
- follow-ups: top-1 of the follow-up questions alone, each searched with its previous message as the crew does.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.ptbr_eval import corpus as demo_corpus

EVAL = Path(__file__).resolve().parents[1] / "fixtures" / "eval"
CORPORA = ("demo_store", "pet", "moveis")


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    split: str
    corpus: str
    collection: str
    text: str
    expected: tuple[str, ...]
    previous: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.expected)


def load_questions(split: str | None = None, corpora: Sequence[str] = CORPORA) -> list[EvalQuestion]:
    out = []
    for corpus in corpora:
        for line in (EVAL / f"questions_{corpus}.jsonl").read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            q = json.loads(line)
            if split and q["split"] != split:
                continue
            out.append(EvalQuestion(q["id"], q["split"], corpus, q["collection"], q["text"], tuple(q["expected"]),
                                    q.get("previous")))
    return out


def corpus_records(corpus: str) -> dict[str, list[dict[str, Any]]]:
    """collection -> POST /vectorize records of one shop."""
    if corpus == "demo_store":
        return demo_corpus()
    return json.loads((EVAL / f"corpus_{corpus}.json").read_text(encoding="utf-8"))["collections"]


def build_store(embedder: Any, corpora: Sequence[str] = CORPORA) -> Any:
    """An in-memory store with every shop indexed as its own tenant (tenant id = corpus name)."""
    from qdrant_client import QdrantClient

    from chatwoot_ai.vector.indexing import index_message
    from chatwoot_ai.vector.models import VectorizeMessage
    from chatwoot_ai.vector.store import VectorStore

    store = VectorStore(QdrantClient(location=":memory:"), local=True)
    for corpus in corpora:
        for collection, records in corpus_records(corpus).items():
            index_message(VectorizeMessage(job_id="eval", tenant_id=corpus, collection=collection, part=0,
                                           records=records), store, embedder)
    return store


class CachingEmbedder:
    """A model set whose document vectors are memoised per text: the small shops (below) hold records the whole
    shops already embedded, and e5's 4-bit engine embeds ~7 texts a second here."""

    def __init__(self, embedder: Any) -> None:
        self.inner = embedder
        self.cache: dict[str, dict[str, list[float]]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed_documents(self, texts: Sequence[str]) -> dict[str, list[list[float]]]:
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing:
            fresh = self.inner.embed_documents(missing)
            for index, text in enumerate(missing):
                self.cache[text] = {name: vectors[index] for name, vectors in fresh.items()}
        names = list(self.inner.vectors)
        return {name: [self.cache[t][name] for t in texts] for name in names}


_shared: dict[tuple[str, str, int | None], CachingEmbedder] = {}


def shared_embedder() -> CachingEmbedder:
    """The bundled model set as the settings ask for it, loaded once per process, its document vectors memoised:
    the modules that index the same shop (the demo store: the conversation set and this evaluation) embed each
    text once."""
    from chatwoot_ai.settings import get_settings
    from chatwoot_ai.vector.embeddings import build_embedder

    settings = get_settings()
    key = (settings.embedding_e5_variant, settings.embedding_bundled_models, settings.embedding_threads or None)
    if key not in _shared:
        _shared[key] = CachingEmbedder(build_embedder("bundled"))
    return _shared[key]


SMALL_OTHERS = 1  # records besides the expected one in a small shop's collection


def small_shops(questions: Sequence[EvalQuestion]) -> list[tuple[EvalQuestion, str, list[dict[str, Any]]]]:
    """Each question asked of a shop that has just started: its collection holds the expected record (when the
    question has one) and SMALL_OTHERS other records of the same shop, or SMALL_OTHERS + 1 records for a question
    without an answer. (question, tenant id, records); the others are picked by a fixed rule, not at random."""
    out = []
    for index, q in enumerate(questions):
        records = corpus_records(q.corpus)[q.collection]
        expected = [r for r in records if str(r["id"]) in q.expected[:1]]
        others = [r for r in records if str(r["id"]) not in q.expected]
        start = (index * 7) % len(others)
        picked = (others[start:] + others[:start])[: SMALL_OTHERS + (0 if expected else 1)]
        out.append((q, f"small-{q.id}", expected + picked))
    return out


def build_small_store(embedder: Any, questions: Sequence[EvalQuestion]) -> tuple[Any, Searcher]:
    """One store holding a small shop per question (see small_shops), and the searcher that asks each question of
    its own small shop."""
    from qdrant_client import QdrantClient

    from chatwoot_ai.vector.followup import contextual_query
    from chatwoot_ai.vector.indexing import index_message
    from chatwoot_ai.vector.models import VectorizeMessage
    from chatwoot_ai.vector.search import retrieve
    from chatwoot_ai.vector.store import VectorStore

    store = VectorStore(QdrantClient(location=":memory:"), local=True)
    tenants = {}
    for q, tenant, records in small_shops(questions):
        index_message(VectorizeMessage(job_id="eval", tenant_id=tenant, collection=q.collection, part=0,
                                       records=records), store, embedder)
        tenants[q.id] = tenant

    def run(q: EvalQuestion) -> Any:
        return retrieve(tenants[q.id], q.collection, contextual_query(q.text, q.previous), 10, store=store,
                        embedder=embedder, gate=False)

    return store, run


@contextlib.contextmanager
def settings_env(**values: Any) -> Iterator[None]:
    """Environment overrides of chatwoot_ai.settings for the duration (the bench compares configurations)."""
    from chatwoot_ai.settings import reset_settings

    saved = {k: os.environ.get(k.upper()) for k in values}
    os.environ.update({k.upper(): str(v) for k, v in values.items()})
    reset_settings()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key.upper(), None)
            else:
                os.environ[key.upper()] = value
        reset_settings()


@dataclass
class Answer:
    """One question's outcome: the ranked record ids, the top hit's relevance and the gate's verdict."""

    question: EvalQuestion
    ids: list[str]
    relevance: list[float]
    answerable: bool
    features: dict[str, float] = field(default_factory=dict)  # the top hit's (calibration)


@dataclass
class Metrics:
    questions: int
    top1: float
    mrr: float
    no_answer_precision: float
    no_answer_recall: float
    answered_right: float
    followup_top1: float
    answers: list[Answer] = field(default_factory=list, repr=False)

    def misses(self) -> list[tuple[str, str, tuple[str, ...], list[str]]]:
        return [(a.question.id, a.question.text, a.question.expected, a.ids[:3]) for a in self.answers
                if a.question.answerable and a.ids[:1] != list(a.question.expected[:1])
                and (not a.ids or a.ids[0] not in a.question.expected)]

    def line(self) -> str:
        return (f"n={self.questions} top1={self.top1:.3f} mrr={self.mrr:.3f} "
                f"noans P={self.no_answer_precision:.2f} R={self.no_answer_recall:.2f} "
                f"answered_right={self.answered_right:.3f} followup_top1={self.followup_top1:.3f}")


Searcher = Callable[[EvalQuestion], Any]  # -> chatwoot_ai.vector.search.Retrieval (gate=False)


def default_searcher(store: Any, embedder: Any, *, followups: bool = True, mode: str = "hybrid",
                     depth: int = 10) -> Searcher:
    from chatwoot_ai.vector.followup import contextual_query
    from chatwoot_ai.vector.search import retrieve

    def run(q: EvalQuestion) -> Any:
        text = contextual_query(q.text, q.previous) if followups else q.text
        return retrieve(q.corpus, q.collection, text, depth, mode=mode, store=store, embedder=embedder,  # type: ignore[arg-type]
                        gate=False)

    return run


def answers(searcher: Searcher, questions: Sequence[EvalQuestion]) -> list[Answer]:
    out = []
    for q in questions:
        result = searcher(q)
        ids = [h.id for h in result.hits]
        out.append(Answer(q, ids, [h.relevance for h in result.hits], result.answerable,
                          dict(result.features.get(ids[0], {})) if ids else {}))
    return out


def score(found: Sequence[Answer], threshold: Callable[[EvalQuestion], float] | None = None) -> Metrics:
    """Metrics of some answers; `threshold(question)` re-gates on the top hit's relevance (tuning), else the
    search's own verdict counts."""
    def passes(a: Answer) -> bool:
        if threshold is None:
            return a.answerable
        return bool(a.relevance) and a.relevance[0] >= threshold(a.question)

    with_answer = [a for a in found if a.question.answerable]
    top1 = sum(1 for a in with_answer if a.ids[:1] and a.ids[0] in a.question.expected)
    mrr = 0.0
    for a in with_answer:
        ranks = [i for i, rid in enumerate(a.ids) if rid in a.question.expected]
        mrr += 1.0 / (ranks[0] + 1) if ranks else 0.0
    flagged = [a for a in found if not passes(a)]
    no_answer = [a for a in found if not a.question.answerable]
    right = sum(1 for a in with_answer if a.ids[:1] and a.ids[0] in a.question.expected and passes(a))
    followups = [a for a in with_answer if a.question.previous]
    follow_top1 = sum(1 for a in followups if a.ids[:1] and a.ids[0] in a.question.expected)
    n = max(len(with_answer), 1)
    return Metrics(
        questions=len(found), top1=top1 / n, mrr=mrr / n,
        no_answer_precision=(sum(1 for a in flagged if not a.question.answerable) / len(flagged)) if flagged else 0.0,
        no_answer_recall=(sum(1 for a in no_answer if not passes(a)) / len(no_answer)) if no_answer else 0.0,
        answered_right=right / n, followup_top1=follow_top1 / max(len(followups), 1), answers=list(found))


def evaluate(searcher: Searcher, questions: Sequence[EvalQuestion]) -> Metrics:
    return score(answers(searcher, questions))
