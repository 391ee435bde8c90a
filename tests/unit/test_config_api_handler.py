"""config_api's entry point: a ConfigChanged event goes to the cache and nothing else runs."""

from __future__ import annotations

from typing import Any

import config_api

from chatwoot_ai.config import get_config_cache
from devtools.lambda_context import FakeLambdaContext


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def handle_event(self, event: dict[str, Any]) -> bool:
        self.events.append(event)
        return True


def test_a_config_changed_event_refreshes_the_cache_and_returns_nothing() -> None:
    recorder = Recorder()
    event = {"source": "chatwoot-ai.config", "detail-type": "ConfigChanged",
             "detail": {"kind": "config", "tenant_id": "loja", "domain": "default", "config_type": "config",
                        "version": 3}}
    with get_config_cache.override(recorder):  # type: ignore[arg-type]
        assert config_api.lambda_handler(event, FakeLambdaContext()) == {}
    assert recorder.events == [event]
