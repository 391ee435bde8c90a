"""Tenant-scoped API keys in the config table: created once (the key is shown then and never again), stored hashed,
listed without the key, revoked by deleting the item.

A key reads `cak_<key_id>_<secret>`: `key_id` (16 hex characters) names the item, so checking a key is one GetItem
(`pk=APIKEY#{key_id}`, `sk=APIKEY`); the secret is 32 random bytes (`secrets.token_urlsafe`), and the item keeps only
the SHA-256 of the whole key. A fast hash is enough for 256 random bits (there is nothing to brute-force, unlike a
password); the comparison is constant-time. The item's `kind` is `api_key`, which the stream turns into no
`ConfigChanged` event and the tenant list (`ConfigStore.heads`, a filter on `kind = head`) never shows.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

PREFIX = "cak_"
MAX_KEYS_PER_TENANT = 20
_KEY = re.compile(r"^cak_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


def key_pk(key_id: str) -> str:
    return f"APIKEY#{key_id}"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_key(key: str) -> str | None:
    """The key id of a well-formed tenant key, else None."""
    match = _KEY.match(key or "")
    return match.group(1) if match else None


def looks_like_tenant_key(key: str | None) -> bool:
    return bool(key) and str(key).startswith(PREFIX)


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    tenant_id: str
    created_at: str
    last4: str
    label: str | None

    def public(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "tenant_id": self.tenant_id, "created_at": self.created_at,
                "last4": self.last4, "label": self.label}


def _s(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value.get("S") if isinstance(value, dict) else None


def _record(item: dict[str, Any]) -> ApiKeyRecord:
    return ApiKeyRecord(key_id=_s(item, "key_id") or "", tenant_id=_s(item, "tenant_id") or "",
                        created_at=_s(item, "created_at") or "", last4=_s(item, "last4") or "",
                        label=_s(item, "label"))


class ApiKeyStore:
    """The tenant keys' items. `client` is a low-level DynamoDB client; `table_name` the config table."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def create(self, tenant_id: str, created_at: str, label: str | None = None) -> tuple[ApiKeyRecord, str]:
        """A new key for `tenant_id`: (its record, the key itself: the only time anyone sees it)."""
        key_id = secrets.token_hex(8)
        key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKeyRecord(key_id=key_id, tenant_id=tenant_id, created_at=created_at, last4=key[-4:],
                              label=label)
        item: dict[str, Any] = {
            "pk": {"S": key_pk(key_id)}, "sk": {"S": "APIKEY"}, "kind": {"S": "api_key"},
            "key_id": {"S": key_id}, "tenant_id": {"S": tenant_id}, "key_sha256": {"S": digest(key)},
            "created_at": {"S": created_at}, "last4": {"S": record.last4},
        }
        if label:
            item["label"] = {"S": label}
        self.client.put_item(TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(pk)")
        return record, key

    def verify(self, key: str) -> ApiKeyRecord | None:
        """The record of a live key whose hash matches, else None (malformed, unknown, revoked or wrong secret)."""
        key_id = parse_key(key)
        if key_id is None:
            return None
        item = self.client.get_item(TableName=self.table_name, ConsistentRead=True,
                                    Key={"pk": {"S": key_pk(key_id)}, "sk": {"S": "APIKEY"}}).get("Item")
        if not item or not hmac.compare_digest(digest(key), _s(item, "key_sha256") or ""):
            return None
        return _record(item)

    def list(self, tenant_id: str) -> list[ApiKeyRecord]:
        """The tenant's keys, oldest first: a Scan (management plane only, as the tenant list)."""
        out: list[ApiKeyRecord] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": "#kind = :kind AND tenant_id = :tenant",
            "ExpressionAttributeNames": {"#kind": "kind"},
            "ExpressionAttributeValues": {":kind": {"S": "api_key"}, ":tenant": {"S": tenant_id}},
            "ProjectionExpression": "key_id, tenant_id, created_at, last4, label",
        }
        while True:
            response = self.client.scan(**kwargs)
            out += [_record(item) for item in response["Items"]]
            if "LastEvaluatedKey" not in response:
                return sorted(out, key=lambda r: (r.created_at, r.key_id))
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def revoke(self, tenant_id: str, key_id: str) -> ApiKeyRecord | None:
        """Delete the tenant's key; None when it has no such key (another tenant's key id is not touched)."""
        if not re.fullmatch(r"[0-9a-f]{16}", key_id or ""):
            return None
        try:
            response = self.client.delete_item(
                TableName=self.table_name, Key={"pk": {"S": key_pk(key_id)}, "sk": {"S": "APIKEY"}},
                ConditionExpression="tenant_id = :tenant",
                ExpressionAttributeValues={":tenant": {"S": tenant_id}}, ReturnValues="ALL_OLD")
        except self.client.exceptions.ConditionalCheckFailedException:
            return None
        item = response.get("Attributes")
        return _record(item) if item else None
