"""The worker's domain logic: one message's records become points (or go away), unchanged ones are skipped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chatwoot_ai.settings import get_settings
from chatwoot_ai.vector import sparse
from chatwoot_ai.vector.chunking import chunk_text
from chatwoot_ai.vector.codes import record_codes
from chatwoot_ai.vector.ids import metadata_hash, point_id, text_hash
from chatwoot_ai.vector.jobs import now_iso
from chatwoot_ai.vector.models import VectorizeMessage, VectorRecord
from chatwoot_ai.vector.store import Point

if TYPE_CHECKING:
    from chatwoot_ai.vector.embeddings import Embedder
    from chatwoot_ai.vector.store import VectorStore


@dataclass
class PartResult:
    processed: int = 0
    skipped: int = 0
    deleted: int = 0
    chunks: int = 0


@dataclass
class _Pending:
    record: VectorRecord
    text_hash: str
    metadata_hash: str
    chunks: list[str]
    previous_chunks: int


def index_message(message: VectorizeMessage, store: VectorStore, embedder: Embedder,
                  job_id: str | None = None, chunking: tuple[int, int] | None = None) -> PartResult:
    """Deletes, then embeds and upserts what changed. Idempotent: running it twice changes nothing the second time.
    `chunking` is (max_chars, overlap); the settings' by default."""
    settings = get_settings()
    tenant, collection = message.tenant_id, message.collection
    result = PartResult()

    removed = list(dict.fromkeys([*message.delete_ids, *(r.id for r in message.records if r.removed)]))
    if removed and store.exists(collection):
        present = store.chunk_zero(collection, [point_id(tenant, collection, rid, 0) for rid in removed])
        store.delete_records(collection, tenant, removed)
        result.deleted = len(present)
    live = [r for r in message.records if not r.removed]
    if not live:
        return result

    store.ensure_collection(collection, embedder.models)
    chunking = chunking or (settings.chunk_max_chars, settings.chunk_overlap_chars)
    first_ids = {r.id: point_id(tenant, collection, r.id, 0) for r in live}
    previous = store.chunk_zero(collection, list(first_ids.values()))
    pending: list[_Pending] = []
    for record in live:
        t_hash = text_hash(record.text, chunking)
        m_hash = metadata_hash(record.metadata)
        before = previous.get(first_ids[record.id])
        if before and before.get("tenant_id") == tenant and before.get("text_hash") == t_hash:
            if before.get("metadata_hash") != m_hash:
                store.set_payload(collection, tenant, record.id,
                                  {"metadata": record.metadata, "metadata_hash": m_hash, "updated_at": now_iso(),
                                   "codes": record_codes(record.text, record.metadata)})
            result.skipped += 1
            continue
        pending.append(_Pending(record, t_hash, m_hash, chunk_text(record.text, *chunking),
                                int(before.get("chunk_count", 0)) if before else 0))

    texts = [chunk for item in pending for chunk in item.chunks]
    dense = embedder.embed_documents(texts)
    points: list[Point] = []
    position = 0
    updated = now_iso()
    for item in pending:
        codes = record_codes(item.record.text, item.record.metadata)
        for index, chunk in enumerate(item.chunks):
            points.append(Point(
                id=point_id(tenant, collection, item.record.id, index),
                vectors={name: vectors[position] for name, vectors in dense.items()},
                sparse=sparse.document_vector(chunk),
                payload={
                    "tenant_id": tenant, "record_id": item.record.id, "chunk_index": index,
                    "chunk_count": len(item.chunks), "text": chunk, "metadata": item.record.metadata,
                    "text_hash": item.text_hash, "metadata_hash": item.metadata_hash,
                    "job_id": job_id, "updated_at": updated, "codes": codes,
                },
            ))
            position += 1
    store.upsert(collection, points)
    for item in pending:
        if item.previous_chunks > len(item.chunks):
            store.delete_chunks_from(collection, tenant, item.record.id, len(item.chunks))
    result.processed = len(live)
    result.chunks = len(points)
    return result
