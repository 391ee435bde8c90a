"""DynamoDB item layout of the config and mapping tables, and the reads and writes on them.

Config table (`pk`, `sk`):
- head item   `pk=TENANT#{tenant_id}#{domain}`, `sk=HEAD#{config_type}`: the latest version, full document. Conditional
  writes on its `version` make concurrent writers safe (If-Match, and version numbers never repeat).
- version item `pk=TENANT#{tenant_id}#{domain}`, `sk=V#{config_type}#{version:010d}`: one per version, never changed.
  Both carry `kind`, `tenant_id`, `domain`, `config_type`, `version`, `updated_at`, `written_by` (who wrote it:
  "admin", "viewer", "odoo-webhook", ...) and either `data` (JSON text) or, for secret types, `secret` (a KMS
  ciphertext of the JSON). A DELETE writes a tombstone version: `deleted` true and `data` "{}"; the versions before it
  stay, and a PUT after it starts the document again (restoring is a PUT of an earlier version's data).
Mapping table: `pk=ACCOUNT#{chatwoot_account_id}` (installation "default", the key stored data already has) or
`pk=ACCOUNT#{installation}#{chatwoot_account_id}` (any other installation), `sk=INBOX#{chatwoot_inbox_id}` (`INBOX#*`
for the whole account), so one Query returns everything an account maps, inbox-specific entries and the account-wide
one together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from chatwoot_ai.config.crypto import CredentialsCipher
from chatwoot_ai.models import DEFAULT_INSTALLATION, Mapping

SECRET_TYPES = frozenset({"credentials"})
ACCOUNT_WIDE = "*"


def tenant_pk(tenant_id: str, domain: str) -> str:
    return f"TENANT#{tenant_id}#{domain}"


def head_sk(config_type: str) -> str:
    return f"HEAD#{config_type}"


def version_sk(config_type: str, version: int) -> str:
    return f"V#{config_type}#{version:010d}"


def account_pk(account_id: int, installation: str = DEFAULT_INSTALLATION) -> str:
    if installation == DEFAULT_INSTALLATION:
        return f"ACCOUNT#{account_id}"  # the key written before installations existed: stored mappings keep working
    return f"ACCOUNT#{installation}#{account_id}"


def inbox_sk(inbox_id: int | None) -> str:
    return f"INBOX#{ACCOUNT_WIDE if inbox_id is None else inbox_id}"


def _s(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value.get("S") if isinstance(value, dict) else None


def _n(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    if isinstance(value, dict) and "N" in value:
        return int(value["N"])
    return None


def _deleted(item: dict[str, Any]) -> bool:
    value = item.get("deleted")
    return isinstance(value, dict) and value.get("BOOL") is True


@dataclass
class StoredDocument:
    tenant_id: str
    domain: str
    config_type: str
    version: int
    updated_at: str
    data: dict[str, Any] = field(repr=False)
    written_by: str = ""
    deleted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"tenant_id": self.tenant_id, "domain": self.domain, "config_type": self.config_type,
                "version": self.version, "updated_at": self.updated_at, "written_by": self.written_by or None,
                "data": self.data}


@dataclass
class HeadSummary:
    tenant_id: str
    domain: str
    config_type: str
    version: int
    updated_at: str


class ConfigStore:
    """Versioned documents in the config table. `client` is a low-level DynamoDB client."""

    def __init__(self, client: Any, table_name: str, cipher: CredentialsCipher | None) -> None:
        self.client = client
        self.table_name = table_name
        self.cipher = cipher

    # ---------------------------------------------------------------- reads
    def head_version(self, tenant_id: str, domain: str, config_type: str) -> int | None:
        """The latest version number only: the cheap revalidation read."""
        response = self.client.get_item(
            TableName=self.table_name, Key=self._key(tenant_id, domain, head_sk(config_type)),
            ProjectionExpression="version", ConsistentRead=True)
        item = response.get("Item")
        return _n(item, "version") if item else None

    def get(self, tenant_id: str, domain: str, config_type: str, version: int | None = None) -> StoredDocument | None:
        sk = head_sk(config_type) if version is None else version_sk(config_type, version)
        response = self.client.get_item(TableName=self.table_name, Key=self._key(tenant_id, domain, sk),
                                        ConsistentRead=True)
        item = response.get("Item")
        return self._document(item) if item else None

    def versions(self, tenant_id: str, domain: str, config_type: str) -> list[dict[str, Any]]:
        """Every version kept, newest first: `[{"version", "updated_at", "written_by", "deleted"}]`."""
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": tenant_pk(tenant_id, domain)},
                                          ":prefix": {"S": f"V#{config_type}#"}},
            "ProjectionExpression": "version, updated_at, written_by, deleted",
            "ScanIndexForward": False,
        }
        while True:
            response = self.client.query(**kwargs)
            out += [{"version": _n(i, "version"), "updated_at": _s(i, "updated_at"),
                     "written_by": _s(i, "written_by"), "deleted": _deleted(i)} for i in response["Items"]]
            if "LastEvaluatedKey" not in response:
                return out
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def heads(self) -> list[HeadSummary]:
        """Every document's latest version (for the tenant list): a Scan, management plane only."""
        out: list[HeadSummary] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": "#kind = :head AND attribute_not_exists(deleted)",
            "ExpressionAttributeNames": {"#kind": "kind", "#domain": "domain"},
            "ExpressionAttributeValues": {":head": {"S": "head"}},
            "ProjectionExpression": "tenant_id, #domain, config_type, version, updated_at",
        }
        while True:
            response = self.client.scan(**kwargs)
            for item in response["Items"]:
                out.append(HeadSummary(_s(item, "tenant_id") or "", _s(item, "domain") or "",
                                       _s(item, "config_type") or "", _n(item, "version") or 0,
                                       _s(item, "updated_at") or ""))
            if "LastEvaluatedKey" not in response:
                return out
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def domains(self, tenant_id: str) -> list[str]:
        """The domains this tenant has documents in, sorted: a Scan of head items, read only when a caller names
        the tenant alone (and then cached; see ConfigCache.domains)."""
        found: set[str] = set()
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": "#kind = :head AND tenant_id = :tenant AND attribute_not_exists(deleted)",
            "ExpressionAttributeNames": {"#kind": "kind", "#domain": "domain"},
            "ExpressionAttributeValues": {":head": {"S": "head"}, ":tenant": {"S": tenant_id}},
            "ProjectionExpression": "#domain",
        }
        while True:
            response = self.client.scan(**kwargs)
            found.update(_s(item, "domain") or "" for item in response["Items"])
            if "LastEvaluatedKey" not in response:
                return sorted(d for d in found if d)
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # ---------------------------------------------------------------- writes
    def put_items(self, tenant_id: str, domain: str, config_type: str, data: dict[str, Any], version: int,
                  expected: int | None, updated_at: str, written_by: str = "",
                  deleted: bool = False) -> list[dict[str, Any]]:
        """The TransactWriteItems entries that store `version`: the head (only if it is still at `expected`; absent
        when `expected` is None) and the immutable version item. `deleted`: a tombstone (no data)."""
        attrs: dict[str, Any] = {
            "tenant_id": {"S": tenant_id}, "domain": {"S": domain}, "config_type": {"S": config_type},
            "version": {"N": str(version)}, "updated_at": {"S": updated_at},
        }
        if written_by:
            attrs["written_by"] = {"S": written_by[:200]}
        if deleted:
            attrs["deleted"] = {"BOOL": True}
            attrs["data"] = {"S": "{}"}
        elif config_type in SECRET_TYPES:
            if self.cipher is None:
                raise RuntimeError("no KMS key configured for secret documents")
            attrs["secret"] = {"B": self.cipher.encrypt(data, tenant_id, domain, config_type)}
        else:
            attrs["data"] = {"S": json.dumps(data, ensure_ascii=False, separators=(",", ":"))}
        pk = {"S": tenant_pk(tenant_id, domain)}
        head = {"pk": pk, "sk": {"S": head_sk(config_type)}, "kind": {"S": "head"}, **attrs}
        history = {"pk": pk, "sk": {"S": version_sk(config_type, version)}, "kind": {"S": "version"}, **attrs}
        if expected is None:
            head_put: dict[str, Any] = {"TableName": self.table_name, "Item": head,
                                        "ConditionExpression": "attribute_not_exists(pk)"}
        else:
            head_put = {"TableName": self.table_name, "Item": head, "ConditionExpression": "version = :expected",
                        "ExpressionAttributeValues": {":expected": {"N": str(expected)}}}
        return [
            {"Put": head_put},
            {"Put": {"TableName": self.table_name, "Item": history, "ConditionExpression": "attribute_not_exists(pk)"}},
        ]

    def prune(self, tenant_id: str, domain: str, config_type: str, keep: int) -> int:
        """Delete the version items beyond the newest `keep` (credential history is kept to the last N: an old
        secret is a liability, not a record). Returns how many were deleted. Best effort after the write: a version
        left behind by a failure here goes at the next write."""
        numbers = [v["version"] for v in self.versions(tenant_id, domain, config_type)]
        old = [n for n in numbers[keep:] if n is not None]
        for number in old:
            self.client.delete_item(TableName=self.table_name,
                                    Key=self._key(tenant_id, domain, version_sk(config_type, number)))
        return len(old)

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _key(tenant_id: str, domain: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": tenant_pk(tenant_id, domain)}, "sk": {"S": sk}}

    def _document(self, item: dict[str, Any]) -> StoredDocument:
        tenant_id = _s(item, "tenant_id") or ""
        domain = _s(item, "domain") or ""
        config_type = _s(item, "config_type") or ""
        if "secret" in item and not _deleted(item):
            if self.cipher is None:
                raise RuntimeError("no KMS key configured for secret documents")
            data = self.cipher.decrypt(item["secret"]["B"], tenant_id, domain, config_type)
        else:
            data = json.loads(_s(item, "data") or "{}")
        return StoredDocument(tenant_id, domain, config_type, _n(item, "version") or 0,
                              _s(item, "updated_at") or "", data, _s(item, "written_by") or "", _deleted(item))


def mapping_from_item(item: dict[str, Any]) -> Mapping:
    inbox = item.get("chatwoot_inbox_id", {})
    channel = item.get("channel", {})
    return Mapping(
        chatwoot_account_id=_n(item, "chatwoot_account_id") or 0,
        chatwoot_inbox_id=int(inbox["N"]) if "N" in inbox else None,
        tenant_id=_s(item, "tenant_id") or "",
        domain=_s(item, "domain") or "default",
        channel=channel.get("S") if "S" in channel else None,
        installation=_s(item, "installation") or DEFAULT_INSTALLATION,
    )


class MappingStore:
    """The Chatwoot account/inbox -> tenant entries. `client` is a low-level DynamoDB client."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def account(self, account_id: int, installation: str = DEFAULT_INSTALLATION) -> list[Mapping]:
        response = self.client.query(
            TableName=self.table_name, KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": account_pk(account_id, installation)}}, ConsistentRead=True)
        return [mapping_from_item(item) for item in response["Items"]]

    def get(self, account_id: int, inbox_id: int | None,
            installation: str = DEFAULT_INSTALLATION) -> Mapping | None:
        response = self.client.get_item(
            TableName=self.table_name, ConsistentRead=True,
            Key={"pk": {"S": account_pk(account_id, installation)}, "sk": {"S": inbox_sk(inbox_id)}})
        item = response.get("Item")
        return mapping_from_item(item) if item else None

    def all(self) -> list[Mapping]:
        out: list[Mapping] = []
        kwargs: dict[str, Any] = {"TableName": self.table_name}
        while True:
            response = self.client.scan(**kwargs)
            out += [mapping_from_item(item) for item in response["Items"] if _s(item, "kind") == "mapping"]
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        out.sort(key=lambda m: (m.installation != DEFAULT_INSTALLATION, m.installation, m.chatwoot_account_id,
                                m.chatwoot_inbox_id or 0))
        return out

    def put_item(self, mapping: Mapping, updated_at: str) -> dict[str, Any]:
        """The TransactWriteItems entry that upserts one mapping."""
        item: dict[str, Any] = {
            "pk": {"S": account_pk(mapping.chatwoot_account_id, mapping.installation)},
            "sk": {"S": inbox_sk(mapping.chatwoot_inbox_id)},
            "kind": {"S": "mapping"},
            "chatwoot_account_id": {"N": str(mapping.chatwoot_account_id)},
            "chatwoot_inbox_id": ({"N": str(mapping.chatwoot_inbox_id)} if mapping.chatwoot_inbox_id is not None
                                  else {"NULL": True}),
            "tenant_id": {"S": mapping.tenant_id},
            "domain": {"S": mapping.domain},
            "channel": {"S": mapping.channel} if mapping.channel else {"NULL": True},
            "updated_at": {"S": updated_at},
        }
        if mapping.installation != DEFAULT_INSTALLATION:
            item["installation"] = {"S": mapping.installation}
        return {"Put": {"TableName": self.table_name, "Item": item}}

    def delete(self, account_id: int, inbox_id: int | None,
               installation: str = DEFAULT_INSTALLATION) -> Mapping | None:
        response = self.client.delete_item(
            TableName=self.table_name, ReturnValues="ALL_OLD",
            Key={"pk": {"S": account_pk(account_id, installation)}, "sk": {"S": inbox_sk(inbox_id)}})
        item = response.get("Attributes")
        return mapping_from_item(item) if item else None
