"""Pull mode: a full sync of a tenant's Odoo products, through the same Odoo client the gateway uses.

`POST /vectorize/sync` records a `sync` job and queues one message. The worker pages through the catalogue
(`product.product` with `sale_ok`, by id, 64 at a time), queues each page as an ordinary part of the job, and a last
part that deletes the products this tenant has in Qdrant but Odoo no longer sells (archived or deleted). The parts
then run like any pushed job: unchanged products are skipped, progress shows in `processed`/`total`.
"""

from __future__ import annotations

import json
from typing import Any

from chatwoot_ai.errors import ApiError
from chatwoot_ai.observability import logger
from chatwoot_ai.odoo.sources import PRODUCT
from chatwoot_ai.settings import get_settings
from chatwoot_ai.vector.jobs import JobsDal, new_job_id
from chatwoot_ai.vector.models import SyncRequest, VectorizeMessage, VectorRecord
from chatwoot_ai.vector.odoo_records import PRODUCT_FIELDS, product_record, text_of
from chatwoot_ai.vector.submit import enqueue, require_collection

MAX_SYNC_S = 25.0
# Odoo unreachable or slow is worth another SQS delivery; a refused key, a fault or a missing config is not.
RETRYABLE = frozenset({"odoo_unreachable", "odoo_timeout"})


def tenant_client(tenant_id: str, domain: str | None, read_models: frozenset[str] = frozenset()) -> Any:
    """The tenant's Odoo client from its config (`odoo`) and credentials (`odoo_api_key`); 409 when missing.
    `read_models`: the document sources the tenant named (the scheduled sync)."""
    from chatwoot_ai.odoo import OdooClient
    from chatwoot_ai.odoo.tenant import odoo_target, tenant_odoo

    odoo, api_key = tenant_odoo(tenant_id, domain, "tenant_id")
    target = odoo_target(odoo, api_key, max(odoo.timeout_s, MAX_SYNC_S))
    return OdooClient(target, read_models=read_models)


def start_sync(request: SyncRequest, jobs: JobsDal, sqs: Any, queue_url: str) -> dict[str, Any]:
    """Checks the tenant can be synced (its Odoo is configured), records the job, queues the sync message."""
    require_collection(request.collection)
    tenant_client(request.tenant_id, request.domain)  # a 404/409 now beats a failed job later
    if not queue_url:
        raise ApiError(503, "not_configured", "VECTORIZE_QUEUE_URL is not set")
    job_id = new_job_id()
    jobs.create(job_id, request.tenant_id, request.collection, total=0, parts=1, kind="sync")
    enqueue(sqs, queue_url, [json.dumps({"job_id": job_id, "sync": request.model_dump()})])
    logger.info("sync job queued", extra={"job_id": job_id, "tenant_id": request.tenant_id})
    return {"job_id": job_id, "status": "queued", "kind": "sync"}


def fetch_products(client: Any, page_size: int) -> list[list[VectorRecord]]:
    """Every sellable product, in pages, by ascending id (keyset paging: stable while Odoo changes)."""
    fields = client.existing(PRODUCT, PRODUCT_FIELDS)
    pages: list[list[VectorRecord]] = []
    last_id = 0
    while True:
        rows = client.search_read(PRODUCT, [("sale_ok", "=", True), ("id", ">", last_id)], fields,
                                  limit=page_size, order="id asc")
        if not rows:
            return pages
        pages.append([product_record(r) for r in rows if text_of(r.get("name"))])
        last_id = max(int(r["id"]) for r in rows)
        if len(rows) < page_size:
            return pages


def run_sync(body: dict[str, Any], jobs: JobsDal, sqs: Any, queue_url: str) -> None:
    """The worker's half: fetch the catalogue, plan the job's parts, queue them. Raises to be retried."""
    from chatwoot_ai.vector.store import get_store

    job_id = str(body["job_id"])
    request = SyncRequest.model_validate(body["sync"])
    job = jobs.get(job_id)
    if job is not None and job.get("status") in ("done", "failed"):
        return
    jobs.set_status(job_id, "running", only_from=("queued",))
    page_size = max(1, get_settings().vectorize_records_per_message)
    try:
        pages = fetch_products(tenant_client(request.tenant_id, request.domain), page_size)
    except ApiError as exc:
        if exc.code in RETRYABLE:
            raise  # Odoo down or slow: SQS delivers the message again
        jobs.finish_part(job_id, 0, ok=False, error=f"{exc.code}: {exc.message}")  # retrying will not help
        return
    seen = {record.id for page in pages for record in page}
    stale = sorted(set(get_store().record_ids(request.collection, request.tenant_id)) - seen)
    messages = [VectorizeMessage(job_id=job_id, tenant_id=request.tenant_id, collection=request.collection,
                                 part=index, records=page) for index, page in enumerate(pages)]
    messages.append(VectorizeMessage(job_id=job_id, tenant_id=request.tenant_id, collection=request.collection,
                                     part=len(messages), delete_ids=stale))
    jobs.set_plan(job_id, total=len(seen), parts=len(messages))
    enqueue(sqs, queue_url, [m.model_dump_json() for m in messages])
    logger.info("sync job planned", extra={"job_id": job_id, "tenant_id": request.tenant_id, "products": len(seen),
                                           "stale": len(stale), "parts": len(messages)})
