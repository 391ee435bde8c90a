"""The config cache every function reads through, and the `ConfigChanged` event that keeps it fresh.

    from chatwoot_ai.config import get_config_cache

    mapping = get_config_cache().resolve(account_id, inbox_id)
    config = get_config_cache().config(mapping.tenant_id, mapping.domain)

Handlers apply `ConfigChanged` events with the `config_changes` middleware (chatwoot_ai.middleware); tests swap the
cache with `get_config_cache.override(fake)` (chatwoot_ai.memo).
"""

from __future__ import annotations

from chatwoot_ai.config.cache import ConfigCache, parse_document
from chatwoot_ai.config.crypto import CredentialsCipher
from chatwoot_ai.config.events import DETAIL_TYPE, EVENT_SOURCE, is_config_changed_event
from chatwoot_ai.config.fallback import FileFallback
from chatwoot_ai.config.tables import ConfigStore, MappingStore
from chatwoot_ai.memo import per_settings
from chatwoot_ai.settings import Settings, get_settings

__all__ = [
    "DETAIL_TYPE",
    "EVENT_SOURCE",
    "ConfigCache",
    "build_config_cache",
    "get_config_cache",
    "is_config_changed_event",
    "parse_document",
]


def build_config_cache(settings: Settings | None = None) -> ConfigCache:
    """A new, empty cache on the tables, KMS key and fallback folder the settings name."""
    from chatwoot_ai import aws

    settings = settings or get_settings()
    dynamodb = aws.client("dynamodb")
    cipher = CredentialsCipher(aws.client("kms"), settings.resources.credentials_kms_key_id)
    return ConfigCache(
        ConfigStore(dynamodb, settings.resources.config_table, cipher),
        MappingStore(dynamodb, settings.resources.mapping_table),
        FileFallback(settings.config_cache.fallback_dir or None),
        max_staleness_s=settings.config_cache.max_staleness_s,
    )


@per_settings
def get_config_cache(settings: Settings) -> ConfigCache:
    """The process-wide cache (one per warm Lambda instance); rebuilt when the settings were reset."""
    return build_config_cache(settings)
