"""The receiver's answer deadline (`intake.within`): the outcome in time, else Busy (a 429) while late work finishes
whole in its thread; a work that waited for a thread past the deadline never runs."""

from __future__ import annotations

import threading
import time

import pytest

from chatwoot_ai.conversation import intake
from chatwoot_ai.conversation.intake import Busy, Outcome, within

QUEUED = Outcome(200, {"status": "queued"})


def test_the_outcome_in_time_and_an_error_as_raised() -> None:
    assert within(5, lambda: QUEUED) is QUEUED

    def fails() -> Outcome:
        raise ValueError("tabela indisponível")

    with pytest.raises(ValueError, match="indisponível"):
        within(5, fails)


def test_late_work_finishes_whole_after_busy_and_queued_work_is_withdrawn() -> None:
    threads = intake._INTAKE_THREADS
    release, started = threading.Event(), threading.Barrier(threads + 1)
    finished: list[int] = []
    answers: list[str] = []
    ran: list[str] = []

    def slow(n: int) -> Outcome:
        started.wait(5)
        release.wait(10)
        finished.append(n)
        return QUEUED

    def webhook(n: int) -> None:
        try:
            within(0.2, lambda: slow(n))
        except Busy:
            answers.append("429")

    def never() -> Outcome:
        ran.append("nunca")
        return QUEUED

    callers = [threading.Thread(target=webhook, args=(n,)) for n in range(threads)]
    for caller in callers:
        caller.start()
    started.wait(5)  # every thread of the pool holds a late work
    with pytest.raises(Busy):
        within(0.2, never)
    for caller in callers:
        caller.join(5)
    assert answers == ["429"] * threads
    release.set()
    deadline = time.monotonic() + 5
    while len(finished) < threads and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(finished) == list(range(threads))  # the late ones ended whole after their 429
    assert within(5, lambda: QUEUED) is QUEUED
    assert ran == []  # the one that waited for a thread past its deadline never ran
