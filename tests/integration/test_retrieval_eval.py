"""pt-BR retrieval quality with the real bundled models on the evaluation's TEST split (tests/fixtures/eval; the
values were tuned on dev only). `make bench` reports the same figures next to the old MiniLM setup; these floors are
below what it measures, so a regression fails here while the exact figures live in bench/results.md."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.retrieval_eval import (
    CORPORA,
    build_small_store,
    build_store,
    corpus_records,
    default_searcher,
    evaluate,
    load_questions,
    shared_embedder,
)


def test_the_evaluation_set_is_what_it_claims() -> None:
    """Big enough, every kind in both halves of the split, and every expected record exists in its shop."""
    questions = load_questions()
    assert len(questions) >= 150
    assert sum(not q.answerable for q in questions) >= 30
    assert sum(q.previous is not None for q in questions) >= 20
    for split in ("dev", "test"):
        mine = [q for q in questions if q.split == split]
        assert len(mine) >= 0.4 * len(questions)
        assert sum(not q.answerable for q in mine) >= 10 and sum(q.previous is not None for q in mine) >= 8
    assert len({q.id for q in questions}) == len(questions)
    for corpus in CORPORA:
        records = {c: {str(r["id"]) for r in rs} for c, rs in corpus_records(corpus).items()}
        assert sum(len(ids) for ids in records.values()) >= 20
        for q in questions:
            if q.corpus == corpus:
                assert set(q.expected) <= records[q.collection], q


@pytest.fixture(scope="module")
def bundled() -> Iterator[tuple[Any, Any]]:
    embedder = shared_embedder()  # the small shops reuse the whole shops' vectors (the demo store's: the set's)
    store = build_store(embedder)
    yield store, embedder
    store.client.close()


@pytest.mark.slow
def test_test_split_quality_and_the_gate(bundled: tuple[Any, Any]) -> None:
    store, embedder = bundled
    metrics = evaluate(default_searcher(store, embedder), load_questions("test"))
    print("\n" + metrics.line())
    assert metrics.top1 >= 0.85, metrics.misses()
    assert metrics.mrr >= 0.9
    assert metrics.no_answer_recall >= 0.6
    assert metrics.no_answer_precision >= 0.6


@pytest.mark.slow
def test_a_shop_that_has_just_started_is_answered_too(bundled: tuple[Any, Any]) -> None:
    """The gate was calibrated on whole shops, where a hit's margin over its 30 neighbours tells a match from the
    best of a poor lot. A shop with two records has no neighbours (the pool is filled with a prior): each test
    question asked of a collection holding its expected record and one other must still pass the gate, and one
    without an answer must still be caught (measured 0.93 and 1.00; bench/results.md)."""
    _store, embedder = bundled
    questions = load_questions("test")
    small_store, searcher = build_small_store(embedder, questions)
    try:
        metrics = evaluate(searcher, questions)
    finally:
        small_store.client.close()
    print("\n" + metrics.line())
    assert metrics.answered_right >= 0.85, metrics.misses()
    assert metrics.no_answer_recall >= 0.8


@pytest.mark.slow
def test_follow_ups_need_the_previous_message(bundled: tuple[Any, Any]) -> None:
    store, embedder = bundled
    follow_ups = [q for q in load_questions() if q.previous]
    alone = evaluate(default_searcher(store, embedder, followups=False), follow_ups)
    with_previous = evaluate(default_searcher(store, embedder), follow_ups)
    assert with_previous.top1 >= alone.top1 + 0.2


@pytest.mark.slow
def test_every_hit_is_the_shops_own(bundled: tuple[Any, Any]) -> None:
    """Three shops in one store: whatever the question, hits come from the asking shop's records only."""
    from chatwoot_ai.vector.search import retrieve

    store, embedder = bundled
    own = {c: {str(r["id"]) for rs in corpus_records(c).values() for r in rs} for c in CORPORA}
    for q in load_questions("test")[::3]:
        for corpus in CORPORA:
            found = retrieve(corpus, q.collection, q.text, 10, store=store, embedder=embedder, gate=False)
            assert {h.id for h in found.hits} <= own[corpus], (corpus, q.text)
