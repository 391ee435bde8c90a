"""Fixtures of the reliability suite: the session stack (tests/conftest.py) with a short debounce, and stubs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.webhook_fixtures import worker_short_debounce

from devtools import SHORT_DEBOUNCE
from devtools.doubles import ChatwootStub


def reset_layer() -> None:
    from chatwoot_ai import aws
    from chatwoot_ai.settings import reset_settings

    reset_settings()
    aws.reset_clients()


@pytest.fixture
def short_debounce(cloud: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The debounce (2 s per job) only delays each job; at 2 cores and 20 worker threads it would turn a load test
    into a wait. 0.1 s keeps its code path and keeps the run short. Restored afterwards."""
    for key, value in SHORT_DEBOUNCE.items():  # and for handlers a test calls in this process
        monkeypatch.setenv(key, value)
    reset_layer()
    with worker_short_debounce(cloud):
        yield
    monkeypatch.undo()
    reset_layer()


@pytest.fixture
def chatwoot() -> Iterator[ChatwootStub]:
    with ChatwootStub() as stub:
        yield stub
