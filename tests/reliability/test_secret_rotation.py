"""Issue 16, finding 6: rotating the Chatwoot webhook secret refused every delivery signed with the old one at once,
and Chatwoot does not retry a 401: messages were lost during a rotation.

Now the previous secret stays valid for WEBHOOK_SECRET_OVERLAP_S after the change (default 3600; 0 turns the
overlap off). The previous secret and the time of the change are kept in the credentials document itself, so the
receiver still makes its two round trips per delivery
(tests/unit/test_webhook_receiver.py::test_a_delivery_signed_with_the_previous_secret_costs_no_extra_round_trip)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.tenants import create_tenant

from devtools.chatwoot_payloads import incoming, signed


def _shop(cloud: Any, chatwoot_url: str) -> dict[str, Any]:
    secret = "antigo-" + secrets.token_urlsafe(12)
    config = {"company": {"name": "Loja Rotação"}, "enabled_collections": [], "chatwoot": {"base_url": chatwoot_url},
              "handoff": {"keywords": ["atendente"], "message": "Vou chamar um atendente."}}
    credentials = {"chatwoot_webhook_secret": secret, "chatwoot_api_access_token": "cw-token"}
    return {**create_tenant(cloud, config, credentials), "secret": secret}


class Deliveries:
    def __init__(self, cloud: Any, shop: dict[str, Any]) -> None:
        self.cloud, self.shop, self.message_id = cloud, shop, 70_000 + secrets.randbelow(10_000) * 10

    def send(self, secret: str) -> int:
        self.message_id += 1
        payload = incoming(self.shop["account"], 12, 81, self.message_id, "Olá, qual o horário de vocês?")
        raw, headers = signed(payload, secret)
        return httpx.post(f"{self.cloud.url}/webhooks/chatwoot", content=raw, headers=headers,
                          timeout=30).status_code


def rotate(cloud: Any, shop: dict[str, Any], deliveries: Deliveries) -> str:
    """A new secret through the Config API; back once the receiver's cache has it (the new one is accepted)."""
    new = "novo-" + secrets.token_urlsafe(12)
    httpx.put(f"{cloud.url}/configs/{shop['id']}/default/credentials", json={"chatwoot_webhook_secret": new},
              headers={"X-Api-Key": cloud.admin_key}, timeout=30).raise_for_status()
    deadline = time.monotonic() + 30
    while deliveries.send(new) != 200:
        assert time.monotonic() < deadline, "the receiver never saw the new secret"
        time.sleep(0.2)
    return new


@pytest.fixture
def overlap(cloud: Any, request: pytest.FixtureRequest) -> Iterator[None]:
    with cloud.environment_changed({"WEBHOOK_SECRET_OVERLAP_S": str(request.param)}, "WebhookReceiverFunction"):
        yield


def test_the_previous_secret_is_accepted_within_the_window(cloud: Any, chatwoot: Any) -> None:
    shop = _shop(cloud, chatwoot.url)
    deliveries = Deliveries(cloud, shop)
    assert deliveries.send(shop["secret"]) == 200
    new = rotate(cloud, shop, deliveries)
    # Chatwoot still signs with the old secret until someone updates it there: accepted (default window 3600 s).
    assert deliveries.send(shop["secret"]) == 200
    assert deliveries.send(new) == 200
    assert deliveries.send("qualquer-outro-segredo") == 401
    # The change is recorded with the credentials; a GET shows when (the secrets stay masked).
    shown = httpx.get(f"{cloud.url}/configs/{shop['id']}/default/credentials",
                      headers={"X-Api-Key": cloud.admin_key}, timeout=30).json()["data"]
    assert shown["chatwoot_webhook_secret_previous"] == "****" + shop["secret"][-4:]
    assert abs(int(shown["chatwoot_webhook_secret_changed_at"]) - time.time()) < 120
    # A second rotation: only the secret it replaced overlaps; the first one is refused.
    rotate(cloud, shop, deliveries)
    assert deliveries.send(new) == 200
    assert deliveries.send(shop["secret"]) == 401


@pytest.mark.parametrize("overlap", [1], indirect=True)
def test_the_previous_secret_is_refused_after_the_window(cloud: Any, chatwoot: Any, overlap: None) -> None:
    shop = _shop(cloud, chatwoot.url)
    deliveries = Deliveries(cloud, shop)
    rotate(cloud, shop, deliveries)
    time.sleep(2.5)  # past the 1 s window (the change time is in whole seconds)
    assert deliveries.send(shop["secret"]) == 401


@pytest.mark.parametrize("overlap", [0], indirect=True)
def test_no_overlap_when_the_window_is_zero(cloud: Any, chatwoot: Any, overlap: None) -> None:
    shop = _shop(cloud, chatwoot.url)
    deliveries = Deliveries(cloud, shop)
    assert deliveries.send(shop["secret"]) == 200
    rotate(cloud, shop, deliveries)
    assert deliveries.send(shop["secret"]) == 401
