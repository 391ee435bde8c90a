"""config_api's entry point: a ConfigChanged event goes to the cache and nothing else runs."""

from __future__ import annotations

from typing import Any

import config_api
import pytest


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def handle_event(self, event: dict[str, Any]) -> bool:
        self.events.append(event)
        return True


def test_a_config_changed_event_refreshes_the_cache_and_returns_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    monkeypatch.setattr(config_api, "get_config_cache", lambda: recorder)
    event = {"source": "chatwoot-ai.config", "detail-type": "ConfigChanged",
             "detail": {"kind": "config", "tenant_id": "loja", "domain": "default", "config_type": "config",
                        "version": 3}}
    assert config_api.lambda_handler(event, None) == {}  # type: ignore[arg-type]
    assert recorder.events == [event]
