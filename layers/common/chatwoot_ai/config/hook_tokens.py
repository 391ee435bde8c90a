"""The per-tenant secret of Odoo's webhook URL (`POST /vectorize/odoo/{token}`), stored hashed in the config table.

Stock Odoo's "Send Webhook Notification" sends no header we could check and signs nothing, so the URL is the secret.
The Config API issues it (shown once), rotates it (the old one stops at once) and revokes it; the Vectorize API
finds the tenant from it with one GetItem. Only SHA-256 digests are stored: the tokens are 256 random bits, so a
fast hash is as strong as a slow one here, and a leaked table reveals no usable URL.

    pk=ODOOHOOK#<sha256 hex>             sk=TOKEN    tenant_id, domain, created_at         (lookup)
    pk=TENANT#<tenant_id>#<domain>       sk=ODOOHOOK  token_sha256, created_at, hint        (the current one)

Neither item is a config document (`kind` is neither head nor mapping), so no `ConfigChanged` event follows.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from chatwoot_ai import aws
from chatwoot_ai.config.tables import tenant_pk
from chatwoot_ai.memo import per_settings
from chatwoot_ai.settings import Settings

PREFIX = "oh_"
POINTER_SK = "ODOOHOOK"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hook_path(token: str) -> str:
    return f"/vectorize/odoo/{token}"


class HookTokens:
    """`client` is a low-level DynamoDB client, `table_name` the config table."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def _pointer(self, tenant_id: str, domain: str) -> dict[str, Any]:
        return {"pk": {"S": tenant_pk(tenant_id, domain)}, "sk": {"S": POINTER_SK}}

    @staticmethod
    def _lookup(hashed: str) -> dict[str, Any]:
        return {"pk": {"S": f"ODOOHOOK#{hashed}"}, "sk": {"S": "TOKEN"}}

    def status(self, tenant_id: str, domain: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.table_name, Key=self._pointer(tenant_id, domain),
                                    ConsistentRead=True).get("Item")
        if not item:
            return None
        return {"tenant_id": tenant_id, "domain": domain, "created_at": item["created_at"]["S"],
                "hint": item["hint"]["S"]}

    def issue(self, tenant_id: str, domain: str, created_at: str) -> dict[str, Any]:
        """A new token for the tenant; the previous one (if any) stops working in the same transaction."""
        token = PREFIX + secrets.token_urlsafe(32)
        hashed = digest(token)
        hint = "****" + token[-4:]
        previous = self.client.get_item(TableName=self.table_name, Key=self._pointer(tenant_id, domain),
                                        ConsistentRead=True).get("Item")
        items: list[dict[str, Any]] = [
            {"Put": {"TableName": self.table_name, "Item": {
                **self._lookup(hashed), "kind": {"S": "odoo_hook"}, "tenant_id": {"S": tenant_id},
                "domain": {"S": domain}, "created_at": {"S": created_at}}}},
            {"Put": {"TableName": self.table_name, "Item": {
                **self._pointer(tenant_id, domain), "kind": {"S": "odoo_hook_pointer"},
                "token_sha256": {"S": hashed}, "created_at": {"S": created_at}, "hint": {"S": hint}}}},
        ]
        if previous:
            items.append({"Delete": {"TableName": self.table_name,
                                     "Key": self._lookup(previous["token_sha256"]["S"])}})
        self.client.transact_write_items(TransactItems=items)
        return {"tenant_id": tenant_id, "domain": domain, "token": token, "path": hook_path(token),
                "created_at": created_at, "hint": hint, "rotated": bool(previous)}

    def revoke(self, tenant_id: str, domain: str) -> bool:
        previous = self.client.get_item(TableName=self.table_name, Key=self._pointer(tenant_id, domain),
                                        ConsistentRead=True).get("Item")
        if not previous:
            return False
        self.client.transact_write_items(TransactItems=[
            {"Delete": {"TableName": self.table_name, "Key": self._pointer(tenant_id, domain)}},
            {"Delete": {"TableName": self.table_name, "Key": self._lookup(previous["token_sha256"]["S"])}},
        ])
        return True

    def find(self, token: str) -> tuple[str, str] | None:
        """(tenant_id, domain) of a token, or None. A malformed token is looked up like any other: no timing or
        shape difference tells a stranger what a valid one looks like beyond its public prefix."""
        item = self.client.get_item(TableName=self.table_name, Key=self._lookup(digest(token)),
                                    ConsistentRead=True).get("Item")
        if not item:
            return None
        return item["tenant_id"]["S"], item["domain"]["S"]


@per_settings
def hook_tokens(settings: Settings) -> HookTokens:
    """The Config API issues tokens, the Vectorize API looks them up: the same table, the same class."""
    return HookTokens(aws.client("dynamodb"), settings.resources.config_table)
