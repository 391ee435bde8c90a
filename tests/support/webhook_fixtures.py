"""Helpers for conversation tests: the pipeline's tables and queue created on the emulated cloud, fakes of the
config cache and of search, and a webhook delivery that retries as Chatwoot does. Chatwoot payloads are in
devtools.chatwoot_payloads."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from devtools import SHORT_DEBOUNCE

MAX_429_RETRIES = 5


def deliver(url: str, raw: bytes, headers: dict[str, str], timeout: float = 30.0) -> httpx.Response:
    """POST one signed webhook to `url` as Chatwoot does: a 429 (the receiver saturated, e.g. while other work
    shares the cores) is retried after its Retry-After, up to MAX_429_RETRIES times. The answer carries
    `extensions["retried_429"]`: a retried 429 whose intake had landed is then answered `duplicate`."""
    retried = 0
    while True:
        response = httpx.post(url, content=raw, headers=headers, timeout=timeout)
        if response.status_code != 429 or retried == MAX_429_RETRIES:
            response.extensions["retried_429"] = retried
            return response
        retried += 1
        time.sleep(min(float(response.headers.get("retry-after", "1")), 5.0))


def queued(response: httpx.Response) -> bool:
    """The delivery was taken: `queued`, or `duplicate` after a retried 429 (the first attempt's intake landed)."""
    status = response.json().get("status") if response.status_code == 200 else None
    return status == "queued" or (status == "duplicate" and bool(response.extensions.get("retried_429")))


def create_pipeline_resources(endpoint_url: str, prefix: str) -> dict[str, str]:
    """IdempotencyTable, HistoryTable (template layouts) and a FIFO queue, with unique names."""
    import boto3

    ddb = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name="us-east-1")
    ddb.create_table(TableName=f"{prefix}-idempotency", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    ddb.create_table(TableName=f"{prefix}-history", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}])
    sqs = boto3.client("sqs", endpoint_url=endpoint_url, region_name="us-east-1")
    url = sqs.create_queue(QueueName=f"{prefix}-conversations.fifo",
                           Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    return {"idempotency_table": f"{prefix}-idempotency", "history_table": f"{prefix}-history", "queue_url": url}


class FakeConfigs:
    """The config cache's read side (resolve/config/credentials) over plain dicts, for unit tests."""

    def __init__(self) -> None:
        self.mappings: dict[tuple[int, int | None], Any] = {}
        self.configs: dict[str, Any] = {}
        self.creds: dict[str, Any] = {}

    def resolve(self, account_id: int, inbox_id: int | None, installation: str = "default") -> Any:
        if installation != "default":  # these fakes hold the default installation's entries only
            return None
        return self.mappings.get((account_id, inbox_id)) or self.mappings.get((account_id, None))

    def config(self, tenant_id: str, domain: str = "default") -> Any:
        return self.configs.get(tenant_id)

    def credentials(self, tenant_id: str, domain: str = "default") -> Any:
        return self.creds.get(tenant_id)


class FakeSearch:
    """`search(tenant_id, collection, query, limit)` over {tenant: {collection: [text...]}}; records every call."""

    def __init__(self, data: dict[str, dict[str, list[str]]]) -> None:
        self.data = data
        self.calls: list[tuple[str, str, str]] = []

    def __call__(self, tenant_id: str, collection: str, query: str, limit: int = 5) -> list[Any]:
        from chatwoot_ai.vector import SearchHit

        self.calls.append((tenant_id, collection, query))
        texts = self.data.get(tenant_id, {}).get(collection, [])
        return [SearchHit(id=f"{collection}-{i}", score=1.0 - i / 10, text=t, metadata={})
                for i, t in enumerate(texts[:limit])]


def conversations_drained(cloud: Any, timeout: float = 120.0) -> None:
    """Wait until the stack's conversations queue holds no job, waiting, in flight or delayed: every job queued so
    far has been through the worker, whose calls to Chatwoot are made before its batch is deleted. So a wrong extra
    reply to what was sent before this call has arrived by now (instead of a fixed sleep that hopes so)."""
    sqs = cloud.stack.client("sqs")
    url = cloud.stack.refs["ConversationsQueue"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed"]
    deadline = time.monotonic() + timeout
    while True:
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        if all(int(counts.get(name, 0)) == 0 for name in names):
            return
        assert time.monotonic() < deadline, f"the conversations queue did not drain in {timeout} s: {counts}"
        time.sleep(0.1)


@contextmanager
def worker_short_debounce(cloud: Any) -> Iterator[None]:
    """SHORT_DEBOUNCE for the stack's conversation worker. A change of environment retires the worker's warm
    environments (their next job is a cold start): when a module already keeps it short for all its tests
    (test_faults.py), nothing changes."""
    worker = cloud.functions["ConversationWorkerFunction"]
    if all(worker.environment().get(key) == value for key, value in SHORT_DEBOUNCE.items()):
        yield
        return
    with cloud.environment_changed(SHORT_DEBOUNCE, "ConversationWorkerFunction"):
        yield

