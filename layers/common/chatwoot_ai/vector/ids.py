"""Deterministic point ids and content hashes: retries and re-sends overwrite instead of duplicating."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://chatwoot-ai/vector")
# Bump when chunking, sparse weighting or the payload changes, so stored records are re-embedded once.
# 2: codes in the payload; the model set is no longer part of the hash (the collection records it, and a model
# change re-indexes every point, after which unchanged records must still be skipped).
INDEX_VERSION = "2"


def point_id(tenant_id: str, collection: str, record_id: str, chunk: int) -> str:
    """UUIDv5 of tenant, collection, record id and chunk number."""
    return str(uuid.uuid5(NAMESPACE, f"{tenant_id}\x1f{collection}\x1f{record_id}\x1f{chunk}"))


def text_hash(text: str, chunking: tuple[int, int]) -> str:
    """What the points depend on besides the model set (which the collection records): the text and the chunking."""
    key = f"{INDEX_VERSION}\x1f{chunking[0]}:{chunking[1]}\x1f{text}"
    return hashlib.sha256(key.encode()).hexdigest()


def metadata_hash(metadata: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(metadata, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
