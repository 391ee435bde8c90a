"""Helpers for conversation tests: the pipeline's tables and queue created on the emulated cloud, and fakes of the
config cache and of search. Chatwoot payloads are in devtools.chatwoot_payloads."""

from __future__ import annotations

from typing import Any


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
