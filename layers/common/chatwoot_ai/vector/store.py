"""Qdrant access: one collection per kind, every point tagged with its tenant, every read filtered by it.

`QDRANT_URL` selects a server; otherwise the embedded store at `QDRANT_PATH` (`:memory:` in tests). Embedded Qdrant
allows one client per path per process, so there is one process-wide store (`get_store()`); it is not thread-safe,
so calls on it are serialised. Every call goes through `self.client` with plain, picklable arguments.

A collection holds one named dense vector per model of the model set (`e5`, `use`; `dense` for a fastembed model),
a named sparse vector (`sparse`, IDF modifier), a `tenant_id` keyword index with `is_tenant=True` (Qdrant co-locates
each tenant's points) and a `codes` keyword index (SKUs, order refs, CEPs found in the records). The model set that
wrote it is recorded in the collection's metadata (`models`); a process with another model set neither writes to
nor queries it (`CollectionMismatch`) until `reindex.py` has re-embedded it.
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

DENSE = "dense"  # the vector name of a fastembed model, and of collections written before model sets
SPARSE = "sparse"
CODES = "codes"


@dataclass
class Point:
    id: str
    vectors: dict[str, list[float]]
    sparse: tuple[list[int], list[float]]
    payload: dict[str, Any]


@dataclass
class Found:
    point_id: str
    score: float
    payload: dict[str, Any] = field(default_factory=dict)


class CollectionMismatch(Exception):
    """The collection was written by another model set (the embedding models changed): re-index it."""

    def __init__(self, name: str, stored: dict[str, Any] | None, wanted: dict[str, Any]) -> None:
        self.name, self.stored, self.wanted = name, stored, wanted
        super().__init__(
            f"collection {name} holds vectors of {_describe(stored)}; this process embeds with {_describe(wanted)}. "
            f"Re-index it (POST /collections/{name}/reindex) or delete it and vectorize again.")


def _describe(models: dict[str, Any] | None) -> str:
    if not models:
        return "an unknown model set"
    return " + ".join(str(m.get("model")) for m in models.values())


def legacy_models(vectors: Any) -> dict[str, Any]:
    """The model set of a collection created before model sets were recorded: only its vector sizes are known."""
    if isinstance(vectors, dict):
        return {name: {"model": None, "dim": params.size} for name, params in vectors.items()}
    return {}


def same_models(stored: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    """Equal sets; a collection from before model sets matches when its vector names and sizes do."""
    if not stored:
        return False
    if all(m.get("model") is None for m in stored.values()):
        return {k: m["dim"] for k, m in stored.items()} == {k: m["dim"] for k, m in wanted.items()}
    return stored == wanted


class VectorStore:
    def __init__(self, client: Any, prefix: str = "", local: bool = True) -> None:
        self.client = client
        self.prefix = prefix
        self.local = local
        self._lock: contextlib.AbstractContextManager[Any] = threading.RLock() if local else contextlib.nullcontext()
        self._models: dict[str, dict[str, Any]] = {}

    # ---------------------------------------------------------------- collections
    def physical(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def exists(self, name: str) -> bool:
        if name in self._models:
            return True
        return self.models_of(name) is not None

    def models_of(self, name: str) -> dict[str, Any] | None:
        """The model set recorded on the collection (None when it does not exist)."""
        if name in self._models:
            return self._models[name]
        with self._lock:
            if not self.client.collection_exists(self.physical(name)):
                return None
            info = self.client.get_collection(self.physical(name))
        recorded = (info.config.metadata or {}).get("models") if getattr(info.config, "metadata", None) else None
        models = dict(recorded) if recorded else legacy_models(info.config.params.vectors)
        self._models[name] = models
        return models

    def check_models(self, name: str, models: dict[str, Any]) -> None:
        """Raises CollectionMismatch unless the collection was written by this model set."""
        stored = self.models_of(name)
        if stored is not None and not same_models(stored, models):
            self._models.pop(name, None)  # look again next time: a re-index may have finished meanwhile
            raise CollectionMismatch(name, stored, models)

    def ensure_collection(self, name: str, models: dict[str, Any]) -> None:
        """Creates the collection for this model set, or checks that it was written by it."""
        with self._lock:
            if self.models_of(name) is not None:
                self.check_models(name, models)
                return
            try:
                self.create_physical(self.physical(name), models)
            except Exception:
                # Another process (a second worker environment, another function) created it meanwhile: use it.
                if self.models_of(name) is None:
                    raise
                self.check_models(name, models)
                return
            self._models[name] = dict(models)
            logger.info("collection created", extra={"collection": self.physical(name), "models": models})

    def create_physical(self, physical: str, models: dict[str, Any]) -> None:
        from qdrant_client import models as qm

        with self._lock:
            self.client.create_collection(
                physical,
                vectors_config={name: qm.VectorParams(size=int(m["dim"]), distance=qm.Distance.COSINE)
                                for name, m in models.items()},
                sparse_vectors_config={SPARSE: qm.SparseVectorParams(modifier=qm.Modifier.IDF)},
                metadata={"models": models},
            )
            for key, schema in (
                ("tenant_id", qm.KeywordIndexParams(type=qm.KeywordIndexType.KEYWORD, is_tenant=True)),
                ("record_id", qm.PayloadSchemaType.KEYWORD),
                ("chunk_index", qm.PayloadSchemaType.INTEGER),
                (CODES, qm.PayloadSchemaType.KEYWORD),
            ):
                with _quiet_local_index():
                    self.client.create_payload_index(physical, key, field_schema=schema)

    def list_collections(self) -> list[str]:
        with self._lock:
            names = [c.name for c in self.client.get_collections().collections]
        # A re-index's temporary collection (reindex.SUFFIX) is not a collection of its own.
        return sorted(n[len(self.prefix):] for n in names if n.startswith(self.prefix) and not n.endswith("__reindex"))

    def count(self, name: str, tenant_id: str | None = None) -> int:
        if not self.exists(name):
            return 0
        with self._lock:
            flt = _tenant_filter(tenant_id) if tenant_id else None
            return int(self.client.count(self.physical(name), count_filter=flt, exact=True).count)

    def delete_collection(self, name: str) -> bool:
        with self._lock:
            self._models.pop(name, None)
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
                vector={**p.vectors, SPARSE: models.SparseVector(indices=p.sparse[0], values=p.sparse[1])},
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

    def scroll(self, physical: str, offset: Any, limit: int, with_vectors: bool | list[str] = False,
               ) -> tuple[list[Any], Any]:
        """One page of every point of a physical collection, every tenant (re-indexing only)."""
        with self._lock:
            points, next_offset = self.client.scroll(physical, limit=limit, offset=offset, with_payload=True,
                                                     with_vectors=with_vectors)
        return list(points), next_offset

    def upsert_raw(self, physical: str, points: list[Any]) -> None:
        with self._lock:
            self.client.upsert(physical, points=points, wait=True)

    def drop_physical(self, physical: str) -> None:
        with self._lock:
            if self.client.collection_exists(physical):
                self.client.delete_collection(physical)
        self._models.clear()

    # ---------------------------------------------------------------- queries
    def query_legs(
        self,
        name: str,
        tenant_id: str,
        *,
        dense: dict[str, list[float]],
        sparse: tuple[list[int], list[float]] | None,
        codes: Sequence[str] = (),
        limit: int,
        metadata_filter: dict[str, Any] | None = None,
    ) -> dict[str, list[Found]]:
        """Each leg's own ranking (raw scores), in one batch call, always inside the tenant: every dense vector by
        name, the keyword vector as `sparse`, and `codes`: points carrying a code the query names."""
        from qdrant_client import models

        settings = get_settings()
        flt = _tenant_filter(tenant_id, metadata_filter)
        requests: list[Any] = []
        legs: list[str] = []
        for vector_name, vector in dense.items():
            legs.append(vector_name)
            requests.append(models.QueryRequest(query=vector, using=vector_name, filter=flt, limit=limit,
                                                with_payload=True))
        if sparse and sparse[0]:
            # IDF from this tenant's points only: another tenant's vocabulary must not shift this tenant's scores.
            params = (models.SearchParams(idf=models.IdfCorpusParams(corpus=_tenant_filter(tenant_id)))
                      if settings.search_tenant_idf else None)
            legs.append(SPARSE)
            requests.append(models.QueryRequest(
                query=models.SparseVector(indices=sparse[0], values=sparse[1]), using=SPARSE, filter=flt,
                limit=limit, params=params, with_payload=True))
        if codes and dense:
            coded = _tenant_filter(tenant_id, metadata_filter)
            coded.must.append(models.FieldCondition(key=CODES, match=models.MatchAny(any=list(codes))))
            first = next(iter(dense))
            legs.append(CODES)
            requests.append(models.QueryRequest(query=dense[first], using=first, filter=coded, limit=limit,
                                                with_payload=True))
        if not requests:
            return {}
        with self._lock:
            responses = self.client.query_batch_points(self.physical(name), requests=requests)
        return {leg: [Found(str(p.id), float(p.score), dict(p.payload or {})) for p in response.points]
                for leg, response in zip(legs, responses, strict=True)}

    def vectors(self, name: str, ids: Sequence[str], names: Sequence[str]) -> dict[str, dict[str, list[float]]]:
        """Stored dense vectors of some points (a candidate one leg did not return still gets its raw score)."""
        if not ids:
            return {}
        with self._lock:
            found = self.client.retrieve(self.physical(name), ids=list(ids), with_payload=False,
                                         with_vectors=list(names))
        return {str(p.id): {k: list(v) for k, v in (p.vector or {}).items() if k in names}  # type: ignore[union-attr]
                for p in found}


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
                os.makedirs(key[1], exist_ok=True, mode=0o700)  # tenants' texts: the owner's only
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
