"""Re-indexing a collection for this process's model set (after EMBEDDING_BACKEND or the models changed).

Every point keeps its chunk text in its payload, so nothing has to be sent again: the job reads the collection
page by page (every tenant), embeds each chunk with the new model set into `<collection>__reindex`, then swaps:
the old collection is dropped, created again for the new set and filled from the new vectors (copied, not embedded
again), and the temporary one is dropped. Ids, payloads and tenants are unchanged.

A job (`kind: "reindex"`, tenant `*`) reports progress in `processed` out of `total`. Each SQS message handles
pages for at most STEP_BUDGET_S seconds and queues the next step, so a large collection fits the worker's timeout;
a redelivered step is harmless (same ids) and does not queue a second chain (`finish_part` counts a step once).
While it runs, searches of that collection answer nothing (`reason: reindex_needed`: a query never mixes vectors of
two models) and writes to it fail and are retried by SQS; plan a model change for a quiet hour.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from chatwoot_ai.observability import logger
from chatwoot_ai.vector import sparse
from chatwoot_ai.vector.codes import record_codes
from chatwoot_ai.vector.jobs import JobsDal, new_job_id
from chatwoot_ai.vector.store import SPARSE, same_models
from chatwoot_ai.vector.submit import enqueue

if TYPE_CHECKING:
    from chatwoot_ai.vector.embeddings import Embedder
    from chatwoot_ai.vector.store import VectorStore

SUFFIX = "__reindex"
PAGE = 64
STEP_BUDGET_S = 60.0
ALL_TENANTS = "*"


def start_reindex(name: str, store: VectorStore, jobs: JobsDal, sqs: Any, queue_url: str) -> dict[str, Any]:
    job_id = new_job_id()
    total = store.count(name)
    jobs.create(job_id, ALL_TENANTS, name, total=total, parts=1, kind="reindex")
    enqueue(sqs, queue_url, [json.dumps({"job_id": job_id, "reindex": {"collection": name, "offset": None,
                                                                        "step": 0}})])
    logger.info("re-index queued", extra={"job_id": job_id, "collection": name, "points": total})
    return {"job_id": job_id, "status": "queued", "kind": "reindex", "collection": name, "total": total}


def _embed_page(points: list[Any], embedder: Embedder) -> list[Any]:
    from qdrant_client import models

    texts = [str((p.payload or {}).get("text", "")) for p in points]
    vectors = embedder.embed_documents(texts)
    out = []
    for index, point in enumerate(points):
        payload = dict(point.payload or {})
        if "codes" not in payload:  # written before codes were recorded
            payload["codes"] = record_codes(texts[index], dict(payload.get("metadata") or {}))
        indices, values = sparse.document_vector(texts[index])
        out.append(models.PointStruct(
            id=str(point.id), payload=payload,
            vector={**{name: vectors[name][index] for name in vectors},
                    SPARSE: models.SparseVector(indices=indices, values=values)}))
    return out


def reindex_pages(store: VectorStore, source: str, target: str, embedder: Embedder, offset: Any,
                  budget_s: float = STEP_BUDGET_S, page: int | None = None) -> tuple[int, Any]:
    """Embeds pages of `source` into `target` until the budget is spent; returns (points done, next offset)."""
    deadline = time.monotonic() + budget_s
    done = 0
    while True:
        points, offset = store.scroll(source, offset, page or PAGE)
        if points:
            store.upsert_raw(target, _embed_page(points, embedder))
            done += len(points)
        if offset is None or time.monotonic() >= deadline:
            return done, offset


def swap(store: VectorStore, name: str, target: str, models: dict[str, Any]) -> None:
    """The collection becomes the re-indexed one (its vectors copied from `target`), then `target` goes."""
    physical = store.physical(name)
    current = store.models_of(name)
    if current is None or not same_models(current, models):
        store.drop_physical(physical)
        store.create_physical(physical, models)
    offset: Any = None
    while True:
        points, offset = store.scroll(target, offset, 256, with_vectors=True)
        if points:
            from qdrant_client import models as qm

            store.upsert_raw(physical, [qm.PointStruct(id=str(p.id), vector=p.vector, payload=p.payload)
                                        for p in points])
        if offset is None:
            break
    store.drop_physical(target)


def reindex_collection(store: VectorStore, name: str, embedder: Embedder) -> int:
    """The whole re-index in one call (tests, scripts, a local store); returns the points re-embedded."""
    target = store.physical(name) + SUFFIX
    store.drop_physical(target)
    store.create_physical(target, embedder.models)
    done, offset = 0, None
    while True:
        count, offset = reindex_pages(store, store.physical(name), target, embedder, offset, budget_s=3600)
        done += count
        if offset is None:
            break
    swap(store, name, target, embedder.models)
    return done


def run_reindex_step(body: dict[str, Any], jobs: JobsDal, sqs: Any, queue_url: str, store: VectorStore,
                     embedder: Embedder, budget_s: float = STEP_BUDGET_S) -> None:
    """One SQS message of a re-index job."""
    job_id = str(body["job_id"])
    spec = body["reindex"]
    name, step, offset = str(spec["collection"]), int(spec.get("step", 0)), spec.get("offset")
    job = jobs.get(job_id)
    if job is None or job.get("status") in ("done", "failed"):
        logger.warning("re-index step of an unknown or finished job; dropped", extra={"job_id": job_id})
        return
    total = int(job.get("total", 0))
    target = store.physical(name) + SUFFIX
    if step == 0 and job.get("status") == "queued":
        jobs.set_status(job_id, "running", only_from=("queued",))
        store.drop_physical(target)  # what a failed earlier attempt left
    if store.models_of(target) is None:
        store.create_physical(target, embedder.models)
    done, offset = reindex_pages(store, store.physical(name), target, embedder, offset, budget_s)
    last = offset is None
    if last:
        swap(store, name, target, embedder.models)
    jobs.set_plan(job_id, total=total, parts=step + 1 if last else step + 2)
    counted = jobs.finish_part(job_id, step, ok=True, processed=done)
    logger.info("re-index step done", extra={"job_id": job_id, "collection": name, "step": step, "points": done,
                                             "last": last})
    if counted is not None and not last:
        enqueue(sqs, queue_url, [json.dumps({"job_id": job_id, "reindex": {"collection": name, "offset": offset,
                                                                            "step": step + 1}})])
