"""Qdrant access: one collection per kind, every point tagged with its tenant, every read filtered by it.

`QDRANT_URL` selects a server; otherwise the embedded store at `QDRANT_PATH` (`:memory:` in tests). Embedded Qdrant
allows one client per path per process, so there is one process-wide store (`get_store()`); it is not thread-safe,
so calls on it are serialised. Collections hold a named dense vector and a named sparse vector (IDF modifier) and a
`tenant_id` keyword index with `is_tenant=True` (Qdrant co-locates each tenant's points).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from chatwoot_ai.observability import logger
from chatwoot_ai.settings import get_settings

DENSE = "dense"
SPARSE = "sparse"


@dataclass
class Point:
    id: str
    dense: list[float]
    sparse: tuple[list[int], list[float]]
    payload: dict[str, Any]


@dataclass
class Found:
    point_id: str
    score: float
    payload: dict[str, Any] = field(default_factory=dict)


class CollectionMismatch(Exception):
    """The collection exists with another vector size (the embedding model changed)."""


class VectorStore:
    def __init__(self, client: Any, prefix: str = "", local: bool = True) -> None:
        self.client = client
        self.prefix = prefix
        self.local = local
        self._lock: contextlib.AbstractContextManager[Any] = threading.RLock() if local else contextlib.nullcontext()
        self._known: set[str] = set()

    # ---------------------------------------------------------------- collections
    def physical(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def exists(self, name: str) -> bool:
        if name in self._known:
            return True
        with self._lock:
            found = bool(self.client.collection_exists(self.physical(name)))
        if found:
            self._known.add(name)
        return found

    def ensure_collection(self, name: str, dim: int) -> None:
        from qdrant_client import models

        with self._lock:
            physical = self.physical(name)
            if self.client.collection_exists(physical):
                info = self.client.get_collection(physical)
                vectors = info.config.params.vectors
                size = vectors[DENSE].size if isinstance(vectors, dict) and DENSE in vectors else None
                if size != dim:
                    raise CollectionMismatch(
                        f"collection {name} holds {size}-dimensional vectors; the embedding model makes {dim}. "
                        "Delete the collection and vectorize again after changing the model.")
                self._known.add(name)
                return
            self.client.create_collection(
                physical,
                vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
                sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            )
            for key, schema in (
                ("tenant_id", models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True)),
                ("record_id", models.PayloadSchemaType.KEYWORD),
                ("chunk_index", models.PayloadSchemaType.INTEGER),
            ):
                with _quiet_local_index():
                    self.client.create_payload_index(physical, key, field_schema=schema)
            self._known.add(name)
            logger.info("collection created", extra={"collection": physical, "dim": dim})

    def list_collections(self) -> list[str]:
        with self._lock:
            names = [c.name for c in self.client.get_collections().collections]
        return sorted(n[len(self.prefix):] for n in names if n.startswith(self.prefix))

    def count(self, name: str, tenant_id: str | None = None) -> int:
        if not self.exists(name):
            return 0
        with self._lock:
            flt = _tenant_filter(tenant_id) if tenant_id else None
            return int(self.client.count(self.physical(name), count_filter=flt, exact=True).count)

    def delete_collection(self, name: str) -> bool:
        with self._lock:
            self._known.discard(name)
            if not self.client.collection_exists(self.physical(name)):
                return False
            self.client.delete_collection(self.physical(name))
            return True

    # ---------------------------------------------------------------- points
    def chunk_zero(self, name: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Payloads of the given point ids that exist (used to find unchanged records by their chunk 0)."""
        if not ids or not self.exists(name):
            return {}
        with self._lock:
            found = self.client.retrieve(self.physical(name), ids=list(ids), with_payload=True, with_vectors=False)
        return {str(p.id): dict(p.payload or {}) for p in found}

    def upsert(self, name: str, points: Sequence[Point]) -> None:
        from qdrant_client import models

        if not points:
            return
        structs = [
            models.PointStruct(
                id=p.id,
                vector={DENSE: p.dense, SPARSE: models.SparseVector(indices=p.sparse[0], values=p.sparse[1])},
                payload=p.payload,
            )
            for p in points
        ]
        with self._lock:
            self.client.upsert(self.physical(name), points=structs, wait=True)

    def delete_records(self, name: str, tenant_id: str, record_ids: Sequence[str]) -> None:
        """Every chunk of these records of this tenant."""
        from qdrant_client import models

        if not record_ids or not self.exists(name):
            return
        flt = models.Filter(must=[
            _tenant_condition(tenant_id),
            models.FieldCondition(key="record_id", match=models.MatchAny(any=list(record_ids))),
        ])
        with self._lock:
            self.client.delete(self.physical(name), points_selector=models.FilterSelector(filter=flt), wait=True)

    def delete_chunks_from(self, name: str, tenant_id: str, record_id: str, first: int) -> None:
        """Chunks `first`.. of a record that got shorter."""
        from qdrant_client import models

        flt = models.Filter(must=[
            _tenant_condition(tenant_id),
            models.FieldCondition(key="record_id", match=models.MatchValue(value=record_id)),
            models.FieldCondition(key="chunk_index", range=models.Range(gte=first)),
        ])
        with self._lock:
            self.client.delete(self.physical(name), points_selector=models.FilterSelector(filter=flt), wait=True)

    def record_ids(self, name: str, tenant_id: str) -> list[str]:
        """Every record id this tenant has in the collection (pull mode finds what Odoo no longer has)."""
        from qdrant_client import models

        if not self.exists(name):
            return []
        flt = models.Filter(must=[_tenant_condition(tenant_id),
                                  models.FieldCondition(key="chunk_index", match=models.MatchValue(value=0))])
        ids: list[str] = []
        offset: Any = None
        while True:
            with self._lock:
                points, offset = self.client.scroll(self.physical(name), scroll_filter=flt, limit=1000, offset=offset,
                                                    with_payload=["record_id"], with_vectors=False)
            ids.extend(str((p.payload or {}).get("record_id")) for p in points)
            if offset is None:
                return ids

    def delete_tenant(self, name: str, tenant_id: str) -> None:
        from qdrant_client import models

        if not self.exists(name):
            return
        with self._lock:
            self.client.delete(self.physical(name), wait=True,
                               points_selector=models.FilterSelector(filter=_tenant_filter(tenant_id)))

    def set_payload(self, name: str, tenant_id: str, record_id: str, payload: dict[str, Any]) -> None:
        """New metadata on every chunk of a record whose text did not change (no re-embedding)."""
        from qdrant_client import models

        flt = models.Filter(must=[
            _tenant_condition(tenant_id),
            models.FieldCondition(key="record_id", match=models.MatchValue(value=record_id)),
        ])
        with self._lock:
            self.client.set_payload(self.physical(name), payload=payload, points=models.FilterSelector(filter=flt),
                                    wait=True)

    # ---------------------------------------------------------------- queries
    def query(
        self,
        name: str,
        tenant_id: str,
        *,
        dense: list[float] | None,
        sparse: tuple[list[int], list[float]] | None,
        limit: int,
        metadata_filter: dict[str, Any] | None = None,
    ) -> list[Found]:
        """Dense, sparse, or both fused with reciprocal rank fusion; always inside the tenant."""
        from qdrant_client import models

        settings = get_settings()
        if not self.exists(name):
            return []
        flt = _tenant_filter(tenant_id, metadata_filter)
        sparse_vector = models.SparseVector(indices=sparse[0], values=sparse[1]) if sparse and sparse[0] else None
        # IDF from this tenant's points only: another tenant's vocabulary must not shift this tenant's scores.
        sparse_params = (models.SearchParams(idf=models.IdfCorpusParams(corpus=_tenant_filter(tenant_id)))
                         if settings.search_tenant_idf else None)
        with self._lock:
            if dense is not None and sparse_vector is not None:
                prefetch_limit = max(settings.search_prefetch_limit, limit)
                response = self.client.query_points(
                    self.physical(name),
                    prefetch=[
                        models.Prefetch(query=dense, using=DENSE, filter=flt, limit=prefetch_limit),
                        models.Prefetch(query=sparse_vector, using=SPARSE, filter=flt, limit=prefetch_limit,
                                        params=sparse_params),
                    ],
                    query=models.RrfQuery(rrf=models.Rrf(
                        k=settings.search_rrf_k,
                        weights=[settings.search_dense_weight, settings.search_sparse_weight])),
                    query_filter=flt,
                    limit=limit,
                    with_payload=True,
                )
            elif dense is not None:
                response = self.client.query_points(self.physical(name), query=dense, using=DENSE, query_filter=flt,
                                                    limit=limit, with_payload=True)
            elif sparse_vector is not None:
                response = self.client.query_points(self.physical(name), query=sparse_vector, using=SPARSE,
                                                    query_filter=flt, limit=limit, with_payload=True,
                                                    search_params=sparse_params)
            else:
                return []
        return [Found(str(p.id), float(p.score), dict(p.payload or {})) for p in response.points]


def _tenant_condition(tenant_id: str) -> Any:
    from qdrant_client import models

    if not tenant_id:
        raise ValueError("tenant_id is required for every vector operation")
    return models.FieldCondition(key="tenant_id", match=models.MatchValue(value=tenant_id))


def _tenant_filter(tenant_id: str, metadata_filter: dict[str, Any] | None = None) -> Any:
    """The tenant condition first, then the caller's metadata equalities (which can only narrow it)."""
    from qdrant_client import models

    must: list[Any] = [_tenant_condition(tenant_id)]
    for key, value in (metadata_filter or {}).items():
        match = models.MatchAny(any=list(value)) if isinstance(value, list) else models.MatchValue(value=value)
        must.append(models.FieldCondition(key=f"metadata.{key}", match=match))
    return models.Filter(must=must)


@contextlib.contextmanager
def _quiet_local_index() -> Iterator[None]:
    """Embedded Qdrant warns that payload indexes do nothing locally; the server uses them."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# -------------------------------------------------------------------- the process-wide store
_stores: dict[tuple[str, str], VectorStore] = {}
_stores_lock = threading.Lock()


def default_path() -> str:
    return os.path.join(tempfile.gettempdir(), "chatwoot-ai-qdrant")


def get_store() -> VectorStore:
    """One store per process for the configured Qdrant (server URL, embedded path, or `:memory:`)."""
    settings = get_settings()
    if settings.qdrant_client_factory:
        key = ("factory", settings.qdrant_client_factory)
    else:
        key = (settings.qdrant_url, settings.qdrant_path or ("" if settings.qdrant_url else default_path()))
    found = _stores.get(key)
    if found is not None:
        return found
    with _stores_lock:
        if key not in _stores:
            from qdrant_client import QdrantClient

            if settings.qdrant_client_factory:
                import importlib

                module, _, name = settings.qdrant_client_factory.partition(":")
                client = getattr(importlib.import_module(module), name)()
                local = False  # the factory's owner serialises calls into an embedded client
            elif settings.qdrant_url:
                client = QdrantClient(url=settings.qdrant_url,
                                      api_key=settings.qdrant_api_key.get_secret_value() or None, timeout=30)
                local = False
            elif key[1] == ":memory:":
                client = QdrantClient(location=":memory:")
                local = True
            else:
                os.makedirs(key[1], exist_ok=True)
                client = QdrantClient(path=key[1])
                local = True
            if not _stores:
                atexit.register(reset_store)  # embedded clients flush and unlock before the interpreter goes
            _stores[key] = VectorStore(client, settings.qdrant_collection_prefix, local=local)
        return _stores[key]


def reset_store(path: str | None = None) -> None:
    """Close every store, or only the one at `path` (tests start from an empty `:memory:` store)."""
    with _stores_lock:
        for key in [k for k in _stores if path is None or k[1] == path]:
            with contextlib.suppress(Exception):
                _stores[key].client.close()
            del _stores[key]
