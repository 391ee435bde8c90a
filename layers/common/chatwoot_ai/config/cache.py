"""The per-process config cache every function reads through: mapping -> tenant, tenant config, credentials.

- A hit is one dict lookup and one clock read, no lock: entries are immutable and replaced whole.
- An entry is parsed (and, for credentials, decrypted) once per version.
- A `ConfigChanged` event refetches the entry at once; an instance that never sees the event revalidates an entry
  once it is `max_staleness_s` old with a cheap read of the head item's version number, so every warm instance
  serves a change at most `max_staleness_s` (plus one read) after it was committed.
- Unknown mappings and absent documents are cached negatively for `negative_ttl_s`.
- Reads fall back memory -> DynamoDB -> local files: when DynamoDB fails, the last known value is served (and
  retried after `retry_after_s`); with nothing known, the fallback folder answers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chatwoot_ai.config.events import is_config_changed_event
from chatwoot_ai.config.fallback import FileFallback
from chatwoot_ai.config.tables import ConfigStore, MappingStore
from chatwoot_ai.models import DEFAULT_INSTALLATION, Credentials, Mapping, TenantConfig
from chatwoot_ai.observability import logger

DocKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class _Entry:
    value: Any  # parsed document / {inbox_id: Mapping}; None = known to be absent
    version: int | None  # the stored version; None = absent or not from DynamoDB
    expires: float  # time.monotonic() after which the entry is revalidated
    source: str  # "dynamodb" | "file" | "none"


def parse_document(config_type: str, data: dict[str, Any]) -> Any:
    """A stored document as the object callers get: TenantConfig, Credentials, or a plain dict."""
    if config_type == "config":
        return TenantConfig.model_validate(data)
    if config_type == "credentials":
        return Credentials.model_validate(data)
    return dict(data)


class ConfigCache:
    def __init__(
        self,
        configs: ConfigStore,
        mappings: MappingStore,
        fallback: FileFallback | None = None,
        max_staleness_s: float = 5.0,
        negative_ttl_s: float | None = None,
        retry_after_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.configs = configs
        self.mappings = mappings
        self.fallback = fallback or FileFallback(None)
        self.max_staleness_s = max_staleness_s
        self.negative_ttl_s = min(max_staleness_s, 2.0) if negative_ttl_s is None else negative_ttl_s
        self.retry_after_s = min(retry_after_s, max_staleness_s)
        self.clock = clock
        self._docs: dict[DocKey, _Entry] = {}
        self._accounts: dict[tuple[str, int], _Entry] = {}  # (installation, account id)
        self._domains: dict[str, _Entry] = {}
        self._locks: dict[object, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.stats = {"hits": 0, "loads": 0, "revalidations": 0, "fallbacks": 0}

    # ---------------------------------------------------------------- public reads (the hot path)
    def resolve(self, account_id: int, inbox_id: int | None,
                installation: str = DEFAULT_INSTALLATION) -> Mapping | None:
        """The mapping for this inbox, else the account-wide one (inbox null), else None."""
        entry = self._accounts.get((installation, account_id))
        if entry is None or entry.expires <= self.clock():
            entry = self._load_account((installation, account_id))
        found: dict[int | None, Mapping] = entry.value or {}
        return found.get(inbox_id) or found.get(None)

    def config(self, tenant_id: str, domain: str = "default") -> TenantConfig | None:
        return self._document((tenant_id, domain, "config"))  # type: ignore[no-any-return]

    def credentials(self, tenant_id: str, domain: str = "default") -> Credentials | None:
        return self._document((tenant_id, domain, "credentials"))  # type: ignore[no-any-return]

    def document(self, tenant_id: str, domain: str, config_type: str) -> dict[str, Any] | None:
        """Any other document type (e.g. per-channel overrides) as a dict."""
        return self._document((tenant_id, domain, config_type))  # type: ignore[no-any-return]

    def domains(self, tenant_id: str) -> list[str]:
        """The tenant's domains, for callers that name only the tenant (chatwoot_ai.config.tenants). Cached like a
        document; a ConfigChanged event of the tenant drops the entry (a new domain may have appeared)."""
        entry = self._domains.get(tenant_id)
        if entry is None or entry.expires <= self.clock():
            entry = self._load_domains(tenant_id)
        return list(entry.value or [])

    def version(self, tenant_id: str, domain: str, config_type: str) -> int | None:
        """The version this cache serves (None when absent or from a fallback file)."""
        self._document((tenant_id, domain, config_type))
        entry = self._docs.get((tenant_id, domain, config_type))
        return entry.version if entry else None

    def _document(self, key: DocKey) -> Any:
        entry = self._docs.get(key)
        if entry is None or entry.expires <= self.clock():
            entry = self._load_document(key)
        return entry.value

    # ---------------------------------------------------------------- events
    def handle_event(self, event: dict[str, Any]) -> bool:
        """Apply a `ConfigChanged` event: refetch what it names, at once, if this instance holds it."""
        if not is_config_changed_event(event):
            return False
        detail = event["detail"]
        try:
            if detail.get("kind") == "mapping":
                account = (str(detail.get("installation") or DEFAULT_INSTALLATION), int(detail["chatwoot_account_id"]))
                if account in self._accounts:
                    self._load_account(account, force=True)
            elif detail.get("kind") == "config":
                key = (str(detail["tenant_id"]), str(detail.get("domain") or "default"), str(detail["config_type"]))
                self._domains.pop(key[0], None)
                entry = self._docs.get(key)
                if entry is not None:
                    version = detail.get("version")
                    if version is not None and entry.version is not None and entry.version >= int(version):
                        return True  # already serving it (or newer)
                    self._load_document(key, force=True)
        except (KeyError, TypeError, ValueError):
            logger.warning("malformed ConfigChanged event ignored", extra={"detail": detail})
        return True

    def clear(self) -> None:
        self._docs = {}
        self._accounts = {}
        self._domains = {}

    # ---------------------------------------------------------------- loading
    def _lock(self, key: object) -> threading.Lock:
        lock = self._locks.get(key)
        if lock is None:
            with self._locks_guard:
                lock = self._locks.setdefault(key, threading.Lock())
        return lock

    def _load_document(self, key: DocKey, force: bool = False) -> _Entry:
        tenant_id, domain, config_type = key
        with self._lock(key):
            now = self.clock()
            entry = self._docs.get(key)
            if entry is not None and entry.expires > now and not force:
                return entry  # another thread refreshed it while we waited
            try:
                if entry is not None and entry.version is not None and not force:
                    self.stats["revalidations"] += 1
                    if self.configs.head_version(tenant_id, domain, config_type) == entry.version:
                        fresh = _Entry(entry.value, entry.version, now + self.max_staleness_s, "dynamodb")
                        self._docs[key] = fresh
                        return fresh
                self.stats["loads"] += 1
                stored = self.configs.get(tenant_id, domain, config_type)
                if stored is None or stored.deleted:  # a tombstone: the document is gone
                    fresh = _Entry(None, None, now + self.negative_ttl_s, "dynamodb")
                else:
                    fresh = _Entry(parse_document(config_type, stored.data), stored.version,
                                   now + self.max_staleness_s, "dynamodb")
            except Exception:
                logger.warning("config read failed; serving last known or fallback file",
                               extra={"tenant_id": tenant_id, "domain": domain, "config_type": config_type},
                               exc_info=True)
                fresh = self._degraded_document(key, entry, now)
            self._docs[key] = fresh
            return fresh

    def _degraded_document(self, key: DocKey, entry: _Entry | None, now: float) -> _Entry:
        if entry is not None and entry.value is not None:
            return _Entry(entry.value, entry.version, now + self.retry_after_s, entry.source)
        self.stats["fallbacks"] += 1
        data = self.fallback.document(*key)
        if data is not None:
            try:
                return _Entry(parse_document(key[2], data), None, now + self.retry_after_s, "file")
            except Exception:
                logger.exception("fallback document invalid", extra={"config_type": key[2]})
        return _Entry(None, None, now + self.retry_after_s, "none")

    def _load_domains(self, tenant_id: str) -> _Entry:
        return self._load_list(self._domains, "domains", tenant_id, lambda: self.configs.domains(tenant_id),
                               lambda: self.fallback.domains(tenant_id), "domain list", {"tenant_id": tenant_id})

    def _load_account(self, account: tuple[str, int], force: bool = False) -> _Entry:
        installation, account_id = account
        return self._load_list(
            self._accounts, "account", account,
            lambda: {m.chatwoot_inbox_id: m for m in self.mappings.account(account_id, installation)},
            lambda: {m.chatwoot_inbox_id: m for m in self.fallback.mappings()
                     if (m.installation, m.chatwoot_account_id) == account},
            "mapping", {"chatwoot_account_id": account_id, "installation": installation}, force)

    def _load_list(self, entries: dict[Any, _Entry], kind: str, key: Any, read: Callable[[], Any],
                   from_files: Callable[[], Any], what: str, log: dict[str, Any], force: bool = False) -> _Entry:
        """An account's mappings or a tenant's domains: DynamoDB, else the last known value, else the fallback
        files; an empty answer is cached for the negative TTL only."""
        with self._lock((kind, key)):
            now = self.clock()
            entry = entries.get(key)
            if entry is not None and entry.expires > now and not force:
                return entry
            try:
                self.stats["loads"] += 1
                found = read()
                fresh = _Entry(found, None, now + (self.max_staleness_s if found else self.negative_ttl_s), "dynamodb")
            except Exception:
                logger.warning(f"{what} read failed; serving last known or fallback file", extra=log, exc_info=True)
                if entry is not None and entry.value:
                    fresh = _Entry(entry.value, None, now + self.retry_after_s, entry.source)
                else:
                    self.stats["fallbacks"] += 1
                    found = from_files()
                    fresh = _Entry(found, None, now + self.retry_after_s, "file" if found else "none")
            entries[key] = fresh
            return fresh
