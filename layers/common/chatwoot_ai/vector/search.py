"""Search a tenant's records in one collection: dense, sparse or hybrid (RRF). The tenant filter is ours, always."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chatwoot_ai.models import check_identifier
from chatwoot_ai.vector import sparse
from chatwoot_ai.vector.models import SearchHit, SearchMode, check_collection

if TYPE_CHECKING:
    from chatwoot_ai.vector.embeddings import Embedder
    from chatwoot_ai.vector.store import VectorStore


def search(
    tenant_id: str,
    collection: str,
    query: str,
    limit: int = 5,
    *,
    mode: SearchMode = "hybrid",
    metadata_filter: dict[str, Any] | None = None,
    store: VectorStore | None = None,
    embedder: Embedder | None = None,
) -> list[SearchHit]:
    """The best `limit` records of `tenant_id` in `collection` for `query`, best first, one hit per record.

    A collection that does not exist yet (nothing vectorized) gives no hits rather than an error. `store` and
    `embedder` default to the process-wide ones (tests and benchmarks pass their own).
    """
    from chatwoot_ai.vector.embeddings import get_embedder
    from chatwoot_ai.vector.store import get_store

    check_identifier(tenant_id, "tenant_id")
    check_collection(collection)
    if not query.strip() or limit < 1:
        return []
    store = store or get_store()
    if not store.exists(collection):
        return []
    dense = (embedder or get_embedder()).embed_query(query) if mode in ("hybrid", "dense") else None
    keywords = sparse.query_vector(query) if mode in ("hybrid", "sparse") else None
    # Several chunks of one long record may match: ask for more, keep each record's best chunk.
    found = store.query(collection, tenant_id, dense=dense, sparse=keywords, limit=limit * 3,
                        metadata_filter=metadata_filter)
    hits: dict[str, SearchHit] = {}
    for point in found:
        payload = point.payload
        if payload.get("tenant_id") != tenant_id:  # belt and braces: the filter already guarantees it
            continue
        record_id = str(payload.get("record_id"))
        if record_id not in hits:
            hits[record_id] = SearchHit(id=record_id, score=point.score, text=str(payload.get("text", "")),
                                        metadata=dict(payload.get("metadata") or {}))
        if len(hits) == limit:
            break
    return list(hits.values())
