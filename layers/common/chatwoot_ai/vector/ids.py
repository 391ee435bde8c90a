"""Deterministic point ids and content hashes: retries and re-sends overwrite instead of duplicating."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://chatwoot-ai/vector")
# Bump when chunking or sparse weighting changes, so stored records are re-embedded once.
INDEX_VERSION = "1"


def point_id(tenant_id: str, collection: str, record_id: str, chunk: int) -> str:
    """UUIDv5 of tenant, collection, record id and chunk number."""
    return str(uuid.uuid5(NAMESPACE, f"{tenant_id}\x1f{collection}\x1f{record_id}\x1f{chunk}"))


def text_hash(text: str, model: str, chunking: tuple[int, int]) -> str:
    """What the vectors depend on: the text, the model and the chunking."""
    key = f"{INDEX_VERSION}\x1f{model}\x1f{chunking[0]}:{chunking[1]}\x1f{text}"
    return hashlib.sha256(key.encode()).hexdigest()


def metadata_hash(metadata: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(metadata, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
