"""The management plane: versioned writes with If-Match, reads with masking, the tenant list, mapping upserts.

Every write is one DynamoDB transaction (head conditioned on the version it was computed from + the version item,
or several of them), so a write is whole or absent, version numbers never repeat, and of two concurrent writes
with the same If-Match exactly one wins.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from chatwoot_ai.config.documents import masked, validate_document
from chatwoot_ai.config.tables import SECRET_TYPES, ConfigStore, MappingStore, StoredDocument
from chatwoot_ai.errors import ApiError, not_found
from chatwoot_ai.models import DEFAULT_INSTALLATION, Mapping

MAX_ATTEMPTS = 10
MAX_MAPPINGS_PER_PUT = 100

# Writers in one process take turns. Across Lambda instances the transaction conditions are what keeps writes safe;
# within one process this lock also keeps moto (the local runner serves every function from one process) correct:
# moto rolls a cancelled transaction back by restoring a copy of the whole table, which loses writes committed
# meanwhile and detaches the table's stream from its readers. Taking turns, local transactions never race.
WRITE_LOCK = threading.RLock()


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def is_cancelled(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("TransactionCanceledException",
                                                         "ConditionalCheckFailedException")


def backoff(attempt: int) -> None:
    """A short random pause before recomputing on a newer head, so racing writers spread out."""
    time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))


def precondition_failed(current: int | None, given: int | str) -> ApiError:
    return ApiError(412, "version_conflict",
                    f"If-Match {given} is stale: the current version is {current or 0}", "If-Match")


class ConfigService:
    def __init__(self, client: Any, configs: ConfigStore, mappings: MappingStore,
                 now: Callable[[], str] = utc_now, credential_versions: int = 10) -> None:
        self.client = client
        self.configs = configs
        self.mappings = mappings
        self.now = now
        self.credential_versions = credential_versions

    # ---------------------------------------------------------------- documents
    def get(self, tenant_id: str, domain: str, config_type: str, version: int | None = None) -> dict[str, Any]:
        doc = self.configs.get(tenant_id, domain, config_type, version)
        if doc is None:
            what = f"version {version} of " if version is not None else ""
            raise not_found(f"no {what}{config_type} for tenant {tenant_id} in domain {domain}",
                            "version" if version is not None else None)
        if doc.deleted:
            raise not_found(f"{config_type} of tenant {tenant_id} in domain {domain} was deleted in version "
                            f"{doc.version} (by {doc.written_by or 'unknown'}); its earlier versions are kept: "
                            f"GET .../versions, and PUT an earlier version's data to restore it",
                            "version" if version is not None else None)
        return self.public(doc)

    @staticmethod
    def public(doc: StoredDocument) -> dict[str, Any]:
        out = doc.as_dict()
        out["data"] = masked(doc.config_type, doc.data)
        return out

    def versions(self, tenant_id: str, domain: str, config_type: str) -> dict[str, Any]:
        versions = self.configs.versions(tenant_id, domain, config_type)
        if not versions:
            raise not_found(f"no {config_type} for tenant {tenant_id} in domain {domain}")
        return {"tenant_id": tenant_id, "domain": domain, "config_type": config_type, "versions": versions}

    def prepare(self, tenant_id: str, domain: str, config_type: str, data: Any, if_match: int | None = None,
                written_by: str = "admin", delete: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Validate against the current head and build the transaction items of the next version (a tombstone when
        `delete`). `written_by` is recorded on the version: "admin", "viewer", "odoo-webhook", "tenant-key:<id>"."""
        head = self.configs.get(tenant_id, domain, config_type)
        current = head.version if head else None
        if if_match is not None and (current or 0) != if_match:
            raise precondition_failed(current, if_match)
        live = head if head is not None and not head.deleted else None
        if delete:
            if live is None:
                raise not_found(f"no {config_type} for tenant {tenant_id} in domain {domain}")
            document: dict[str, Any] = {}
        else:
            document = validate_document(config_type, data, live.data if live else None, time.time())
        version = (current or 0) + 1
        updated_at = self.now()
        items = self.configs.put_items(tenant_id, domain, config_type, document, version, current, updated_at,
                                       written_by, deleted=delete)
        result = {"tenant_id": tenant_id, "domain": domain, "config_type": config_type, "version": version,
                  "updated_at": updated_at, "written_by": written_by, "data": masked(config_type, document)}
        if delete:
            result["deleted"] = True
        return items, result

    def put(self, tenant_id: str, domain: str, config_type: str, data: Any, if_match: int | None = None,
            written_by: str = "admin", delete: bool = False) -> dict[str, Any]:
        """Store a new version (a tombstone when `delete`). Without If-Match, a concurrent write only makes us
        recompute on the newer head."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                with WRITE_LOCK:
                    items, result = self.prepare(tenant_id, domain, config_type, data, if_match, written_by, delete)
                    self.client.transact_write_items(TransactItems=items)
                self.prune(tenant_id, domain, config_type)
                return result
            except ClientError as exc:
                if not is_cancelled(exc):
                    raise
                if if_match is not None:
                    raise precondition_failed(self.configs.head_version(tenant_id, domain, config_type),
                                              if_match) from exc
                backoff(attempt)
        raise ApiError(409, "conflict", "too many concurrent writes to this document; retry")

    def prune(self, tenant_id: str, domain: str, config_type: str) -> None:
        """Secret documents keep their last `credential_versions` versions (CONFIG_CREDENTIAL_VERSIONS)."""
        if config_type in SECRET_TYPES:
            self.configs.prune(tenant_id, domain, config_type, self.credential_versions)

    def tenants(self) -> dict[str, Any]:
        grouped: dict[tuple[str, str], dict[str, Any]] = {}
        for head in self.configs.heads():
            entry = grouped.setdefault((head.tenant_id, head.domain), {
                "tenant_id": head.tenant_id, "domain": head.domain, "config_types": [], "updated_at": ""})
            entry["config_types"].append(head.config_type)
            entry["updated_at"] = max(entry["updated_at"], head.updated_at)
        tenants = sorted(grouped.values(), key=lambda t: (t["tenant_id"], t["domain"]))
        for entry in tenants:
            entry["config_types"].sort()
        return {"tenants": tenants}

    # ---------------------------------------------------------------- mapping
    def list_mappings(self) -> dict[str, Any]:
        return {"mappings": [m.model_dump() for m in self.mappings.all()]}

    def claim_conflict(self, mapping: Mapping, others: list[Mapping] | None = None) -> Mapping | None:
        """Another tenant's entry on the same installation and account, in any form (account-wide or any inbox), or
        None. An account belongs to one tenant: an inbox-specific entry wins lookups, so a claim of one inbox of an
        account another tenant maps account-wide would take its webhooks (issue 16, finding 1)."""
        found = self.mappings.account(mapping.chatwoot_account_id, mapping.installation) + list(others or [])
        for entry in found:
            if entry.tenant_id != mapping.tenant_id and entry.installation == mapping.installation \
                    and entry.chatwoot_account_id == mapping.chatwoot_account_id:
                return entry
        return None

    def put_mappings(self, mappings: list[Mapping], force: bool = False) -> dict[str, Any]:
        """Upsert; 409 naming the entry when another tenant maps its account in any form, unless `force`."""
        if not mappings:
            raise ApiError(422, "validation_error", "give at least one mapping", "mappings")
        if len(mappings) > MAX_MAPPINGS_PER_PUT:
            raise ApiError(422, "validation_error", f"at most {MAX_MAPPINGS_PER_PUT} mappings per request",
                           "mappings")
        seen: set[tuple[str, int, int | None]] = set()
        for index, mapping in enumerate(mappings):
            key = (mapping.installation, mapping.chatwoot_account_id, mapping.chatwoot_inbox_id)
            if key in seen:
                raise ApiError(422, "validation_error", "the same account and inbox appear twice",
                               f"mappings.{index}")
            seen.add(key)
        updated_at = self.now()
        with WRITE_LOCK:
            for index, mapping in enumerate(mappings):
                owner = None if force else self.claim_conflict(mapping, mappings[:index])
                if owner is not None:
                    raise ApiError(409, "mapping_conflict",
                                   f"account {mapping.chatwoot_account_id} (installation {mapping.installation}) is "
                                   f"mapped to tenant {owner.tenant_id}; remove that mapping first, or send "
                                   "?force=true", f"mappings.{index}")
            self.client.transact_write_items(TransactItems=[self.mappings.put_item(m, updated_at) for m in mappings])
        return {"mappings": [m.model_dump() for m in mappings], "updated_at": updated_at}

    def delete_mapping(self, account_id: int, inbox_id: int | None,
                       installation: str = DEFAULT_INSTALLATION) -> dict[str, Any]:
        removed = self.mappings.delete(account_id, inbox_id, installation)
        if removed is None:
            raise not_found(f"no mapping for account {account_id} and inbox {inbox_id or 'null (whole account)'}"
                            + ("" if installation == DEFAULT_INSTALLATION else f" in installation {installation}"))
        return {"deleted": removed.model_dump()}
