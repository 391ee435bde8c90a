"""Every committed change becomes one ConfigChanged event on the bus (from the DynamoDB stream), and the functions
that cache configs apply it at once."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest

from devtools.chatwoot_payloads import incoming, signed

WAIT_S = 15.0


@pytest.fixture
def api(cloud: Any, admin_headers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cloud.url, headers=admin_headers, timeout=20) as client:
        yield client


@pytest.fixture
def bus_events(cloud: Any) -> Iterator[Callable[[Callable[[dict[str, Any]], bool], int], list[dict[str, Any]]]]:
    """A queue subscribed to the bus like any outside listener; returns a collector of matching events."""
    sqs = boto3.client("sqs", endpoint_url=cloud.endpoint_url, region_name="us-east-1")
    events = boto3.client("events", endpoint_url=cloud.endpoint_url, region_name="us-east-1")
    name = "cfg-test-" + uuid.uuid4().hex[:8]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = cloud.stack.refs["ConfigEventBus"]
    events.put_rule(Name=name, EventBusName=bus, State="ENABLED",
                    EventPattern=json.dumps({"source": ["chatwoot-ai.config"], "detail-type": ["ConfigChanged"]}))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    seen: list[dict[str, Any]] = []

    def collect(match: Callable[[dict[str, Any]], bool], count: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                               WaitTimeSeconds=1).get("Messages", []):
                seen.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            found = [e for e in seen if match(e["detail"])]
            if len(found) >= count:
                time.sleep(0.5)  # and nothing more arrives for it
                for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                    seen.append(json.loads(message["Body"]))
                return [e for e in seen if match(e["detail"])]
        return [e for e in seen if match(e["detail"])]

    yield collect
    events.remove_targets(Rule=name, EventBusName=bus, Ids=["q"])
    events.delete_rule(Name=name, EventBusName=bus)
    sqs.delete_queue(QueueUrl=url)


def test_each_committed_change_is_announced_once(api: httpx.Client, tenant_id: str, bus_events: Any) -> None:
    api.put(f"/configs/{tenant_id}/default/config", json={"company": {"name": "Loja"}})
    api.put(f"/configs/{tenant_id}/default/config", json={"company": {"name": "Loja 2"}})
    api.put(f"/configs/{tenant_id}/default/config", json={"company": {"name": ""}})  # rejected: no event
    changes = bus_events(lambda d: d.get("tenant_id") == tenant_id, 2)
    assert [e["detail"] for e in changes] == [
        {"kind": "config", "tenant_id": tenant_id, "domain": "default", "config_type": "config", "version": v}
        for v in (1, 2)]
    assert {(e["source"], e["detail-type"]) for e in changes} == {("chatwoot-ai.config", "ConfigChanged")}

    account = 900_000 + int(tenant_id[-5:], 16) % 90_000
    api.put("/mapping", json={"mappings": [{"chatwoot_account_id": account, "chatwoot_inbox_id": 2,
                                            "tenant_id": tenant_id}]})
    api.delete(f"/mapping/{account}/2")
    mapping_changes = bus_events(lambda d: d.get("chatwoot_account_id") == account, 2)
    assert [e["detail"] for e in mapping_changes] == [
        {"kind": "mapping", "chatwoot_account_id": account, "chatwoot_inbox_id": 2, "installation": "default"}] * 2


def test_changes_after_a_refused_write_are_still_announced(api: httpx.Client, tenant_id: str,
                                                           bus_events: Any) -> None:
    """A stale If-Match fails a transaction, which moto rolls back by swapping the table for a copy: the runner's
    stream readers must keep receiving what comes after."""
    api.put(f"/configs/{tenant_id}/default/config", json={"company": {"name": "Loja"}})
    stale = api.put(f"/configs/{tenant_id}/default/config", json={"company": {"name": "Velha"}},
                    headers={"If-Match": "7"})
    assert stale.status_code == 412
    api.put(f"/configs/{tenant_id}/default/config", json={"company": {"name": "Loja 2"}})
    changes = bus_events(lambda d: d.get("tenant_id") == tenant_id, 2)
    assert [e["detail"]["version"] for e in changes] == [1, 2]


def test_a_credentials_change_is_announced_too(api: httpx.Client, tenant_id: str, bus_events: Any) -> None:
    """Its stream record carries the KMS ciphertext as a binary attribute, which Lambda's event holds as base64."""
    api.put(f"/configs/{tenant_id}/default/credentials", json={"chatwoot_webhook_secret": "segredo-1"})
    api.put(f"/configs/{tenant_id}/default/config", json={"company": {"name": "Loja"}})
    changes = bus_events(lambda d: d.get("tenant_id") == tenant_id, 2)
    assert sorted((e["detail"]["config_type"], e["detail"]["version"]) for e in changes) == [
        ("config", 1), ("credentials", 1)]


@pytest.fixture
def receiver_without_staleness(cloud: Any) -> Iterator[None]:
    """The receiver's cached entries never go stale by time: only a ConfigChanged event can refresh them. No overlap
    of webhook secrets, so the old one is refused as soon as the receiver has the new one (the overlap itself:
    tests/reliability/test_secret_rotation.py)."""
    with cloud.environment_changed({"CONFIG_MAX_STALENESS_S": "3600", "WEBHOOK_SECRET_OVERLAP_S": "0"},
                                   "WebhookReceiverFunction"):
        yield


def test_the_functions_cache_applies_the_event_without_waiting_for_staleness(
        cloud: Any, api: httpx.Client, tenant_id: str, receiver_without_staleness: None) -> None:
    """Seen from outside the receiver's process: which secret it checks signatures with, and which accounts it
    knows, change within moments of the write although its entries could stay fresh for an hour."""
    account = 800_000 + int(tenant_id[-5:], 16) % 90_000
    # Disabled: a delivery is verified with the tenant's secret, then ignored (nothing is queued or answered).
    api.put(f"/configs/{tenant_id}/default/config", json={"company": {"name": "Antes"}, "enabled": False})
    api.put(f"/configs/{tenant_id}/default/credentials", json={"chatwoot_webhook_secret": "segredo-antes"})
    api.put("/mapping", json={"mappings": [{"chatwoot_account_id": account, "tenant_id": tenant_id}]})

    def deliver(secret: str) -> tuple[int, str]:
        raw, headers = signed(incoming(account, 5, 77, next(_ids), "oi"), secret)
        response = httpx.post(f"{cloud.url}/webhooks/chatwoot", content=raw, headers=headers, timeout=30)
        return response.status_code, response.json().get("reason", "")

    assert deliver("segredo-antes")[0] == 200  # the receiver has the tenant in memory now
    assert deliver("segredo-depois")[0] == 401
    api.put(f"/configs/{tenant_id}/default/credentials", json={"chatwoot_webhook_secret": "segredo-depois"})
    assert _eventually(lambda: deliver("segredo-depois")[0] == 200)
    assert deliver("segredo-antes")[0] == 401
    api.delete(f"/mapping/{account}/null")
    assert _eventually(lambda: deliver("segredo-depois") == (200, "unknown inbox"))


_ids = iter(range(int(time.time()) % 100_000 * 1000 + 700_000_000, 10**12))


def _eventually(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()
