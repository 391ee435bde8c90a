"""Debounce: a burst of short messages gets one answer.

The receiver writes every customer turn to the history before queueing it, so while the worker holds the first job of
a burst (the FIFO group keeps the others queued) it still sees the later messages. It waits until the conversation has
been quiet for `quiet_s` (at most `max_wait_s` in all), then answers every unanswered turn at once; the later jobs of
the burst find their turn already answered and stop.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from chatwoot_ai.conversation.history import HistoryStore, Turn


def unanswered_turns(history: HistoryStore, pk: str, answered_through: str) -> list[Turn]:
    turns = history.turns(pk, after=answered_through) if answered_through else history.turns(pk, limit=50)
    return [t for t in turns if t.role == "customer" and t.sk > answered_through]


def wait_for_quiet(history: HistoryStore, pk: str, answered_through: str, *, quiet_s: float, max_wait_s: float,
                   now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
                   sleep: Callable[[float], None] = time.sleep) -> list[Turn]:
    """The customer turns to answer now, once the last of them is `quiet_s` old (or `max_wait_s` has passed)."""
    started = now_ms()
    while True:
        pending = unanswered_turns(history, pk, answered_through)
        if not pending:
            return []
        quiet_for = (now_ms() - pending[-1].at_ms) / 1000
        waited = (now_ms() - started) / 1000
        if quiet_for >= quiet_s or waited >= max_wait_s:
            return pending
        sleep(max(0.05, min(quiet_s - quiet_for, max_wait_s - waited)))
