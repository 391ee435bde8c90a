"""Helpers for conversation tests: Chatwoot payloads built from the shared fixtures, signed like Chatwoot signs them,
and the pipeline's tables and queue created on the emulated cloud."""

from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path
from typing import Any

from webhook_signature import sign

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "chatwoot"
INCOMING = "01_message_created_incoming_whatsapp_v4.16_code_derived.json"
ECHO = "02_message_created_outgoing_agent_bot_echo_v4.16_code_derived.json"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def incoming(account_id: int, inbox_id: int, conversation_id: int, message_id: int, content: str,
             **changes: Any) -> dict[str, Any]:
    """The fixture's incoming WhatsApp message, moved to another account/inbox/conversation/message."""
    payload = copy.deepcopy(load(INCOMING))
    payload["account"]["id"] = account_id
    payload["inbox"]["id"] = inbox_id
    payload["id"] = message_id
    payload["content"] = content
    conv = payload["conversation"]
    conv["id"] = conversation_id
    conv["inbox_id"] = inbox_id
    conv["account"]["id"] = account_id
    conv["messages"][0].update(id=message_id, content=content, account_id=account_id, inbox_id=inbox_id,
                               conversation_id=conversation_id)
    payload.update(changes)
    return payload


def echo(account_id: int, inbox_id: int, conversation_id: int, message_id: int) -> dict[str, Any]:
    payload = copy.deepcopy(load(ECHO))
    payload["account"]["id"] = account_id
    payload["inbox"]["id"] = inbox_id
    payload["id"] = message_id
    payload["conversation"]["id"] = conversation_id
    payload["conversation"]["inbox_id"] = inbox_id
    return payload


def signed(payload: dict[str, Any] | bytes, secret: str, *, timestamp: int | None = None,
           delivery_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return raw, {
        "Content-Type": "application/json",
        "X-Chatwoot-Delivery": delivery_id or str(uuid.uuid4()),
        "X-Chatwoot-Timestamp": ts,
        "X-Chatwoot-Signature": sign(secret, ts, raw),
    }


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

    def resolve(self, account_id: int, inbox_id: int | None) -> Any:
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
