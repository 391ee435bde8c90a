"""Per-turn accounting on the local stack (the capacity model's inputs): what the functions counted is what the
emulated cloud served, and a turn reaches the functions it should."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devtools import SHORT_DEBOUNCE
from devtools.chatwoot_payloads import incoming, signed
from devtools.doubles import ChatwootStub
from localcloud.cloud import LocalCloud, dynamodb_served

ADMIN = "accounting-admin-key-0123456789"


@pytest.fixture(scope="module")
def quiet_cloud(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """A stack of its own: no other test's work runs in it while a turn is counted."""
    cloud = LocalCloud(endpoint_url=moto_endpoint, admin_key=ADMIN, data_dir=tmp_path_factory.mktemp("acct"),
                       stack_name="ac-" + uuid.uuid4().hex[:6])
    cloud.start()
    cloud.update_environment(SHORT_DEBOUNCE, "ConversationWorkerFunction")
    yield cloud
    cloud.stop()


def _invocations(cloud: LocalCloud) -> int:
    return sum(f.usage.invocations for f in cloud.functions.values())


def _settle(cloud: LocalCloud, quiet_s: float = 2.0, timeout_s: float = 60) -> None:
    deadline, last, since = time.monotonic() + timeout_s, _invocations(cloud), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if _invocations(cloud) != last:
            last, since = _invocations(cloud), time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return


def _dynamodb_calls(cloud: LocalCloud) -> int:
    return sum(v for f in cloud.functions.values() for k, v in f.usage.snapshot()["calls"].items()
               if k.startswith("dynamodb."))


def test_a_turns_counted_dynamodb_calls_are_what_the_cloud_served(quiet_cloud: LocalCloud) -> None:
    cloud = quiet_cloud
    tenant, account, secret = "acct_" + uuid.uuid4().hex[:6], 600_000 + secrets.randbelow(9_000), "s3gredo"
    admin = {"X-Api-Key": ADMIN}
    with ChatwootStub() as chatwoot:
        config: dict[str, Any] = {"company": {"name": "Loja Contada"}, "enabled_collections": [],
                                  "chatwoot": {"base_url": chatwoot.url},
                                  "handoff": {"keywords": ["atendente"], "message": "Vou chamar uma atendente."}}
        for kind, body in (("config", config),
                           ("credentials", {"chatwoot_webhook_secret": secret, "chatwoot_api_access_token": "t"})):
            httpx.put(f"{cloud.url}/configs/{tenant}/default/{kind}", json=body, headers=admin,
                      timeout=60).raise_for_status()
        httpx.put(f"{cloud.url}/mapping", headers=admin, timeout=60, json={"mappings": [
            {"chatwoot_account_id": account, "tenant_id": tenant}]}).raise_for_status()
        _settle(cloud)
        counted, served = _dynamodb_calls(cloud), dynamodb_served(cloud.endpoint_url)
        raw, headers = signed(incoming(account, 3, 42, 4242, "Quero falar com uma atendente"), secret)
        assert httpx.post(f"{cloud.url}/webhooks/chatwoot", content=raw, headers=headers,
                          timeout=30).json()["status"] == "queued"
        assert chatwoot.wait_for(lambda: chatwoot.replies(42), timeout=60)
        _settle(cloud)
    turn_counted, turn_served = _dynamodb_calls(cloud) - counted, dynamodb_served(cloud.endpoint_url) - served
    assert turn_counted > 0
    assert turn_counted == turn_served
    receiver = cloud.function("WebhookReceiverFunction").usage.snapshot()
    assert receiver["calls"].get("sqs.SendMessage", 0) >= 1 and receiver["billed_ms"] > 0
    assert receiver["units"]["dynamodb_wru"] > 0
