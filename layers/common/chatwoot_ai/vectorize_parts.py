"""The vectorize worker's work on one SQS message (a part of a vectorize job, or a page of a sync), and the job's
bookkeeping: a part that fails for good counts its records as failed, with the error.

Point ids are deterministic and unchanged records are skipped (chatwoot_ai.vector), so a redelivered message is
harmless.
"""

from __future__ import annotations

import json
from typing import Any

from chatwoot_ai import aws
from chatwoot_ai.memo import per_settings
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import Settings, get_settings
from chatwoot_ai.vector.jobs import JobsDal
from chatwoot_ai.vector.models import VectorizeMessage


@per_settings
def job_store(settings: Settings) -> JobsDal:
    """The vectorize jobs table (the API creates jobs, the worker finishes their parts)."""
    return JobsDal(aws.table(settings.resources.jobs_table), settings.vectorize_jobs_ttl_days)


def handle_record(record: dict[str, Any], jobs: JobsDal) -> None:
    """One SQS message: a page of a sync, or a part of a job. Raises to have it retried."""
    body = json.loads(record["body"])
    if "reindex" in body:
        from chatwoot_ai.vector.embeddings import get_embedder
        from chatwoot_ai.vector.reindex import run_reindex_step
        from chatwoot_ai.vector.store import get_store

        run_reindex_step(body, jobs, aws.client("sqs"), get_settings().resources.vectorize_queue_url, get_store(),
                         get_embedder())
        return
    if "odoo_sync" in body:
        from chatwoot_ai.vector.odoo_sync import SyncStateDal, run_odoo_sync

        run_odoo_sync(body, jobs, SyncStateDal(jobs.table), aws.client("sqs"),
                      get_settings().resources.vectorize_queue_url)
        return
    if "sync" in body:
        from chatwoot_ai.vector.sync import run_sync

        run_sync(body, jobs, aws.client("sqs"), get_settings().resources.vectorize_queue_url)
        return
    message = VectorizeMessage.model_validate(body)
    job = jobs.get(message.job_id)
    if job is not None and job.get("status") == "failed" and "-1" in (job.get("failed_parts") or set()):
        logger.warning("part of a job that could not be queued; dropped", extra={"job_id": message.job_id})
        return
    if job is not None and job.get("status") == "queued":
        jobs.set_status(message.job_id, "running", only_from=("queued",))

    from chatwoot_ai.vector.embeddings import get_embedder
    from chatwoot_ai.vector.indexing import index_message
    from chatwoot_ai.vector.store import get_store

    result = index_message(message, get_store(), get_embedder(), job_id=message.job_id)
    jobs.finish_part(message.job_id, message.part, ok=True, processed=result.processed, skipped=result.skipped,
                     deleted=result.deleted)
    logger.info("vectorize part done", extra={"job_id": message.job_id, "tenant_id": message.tenant_id,
                                              "part": message.part, "processed": result.processed,
                                              "skipped": result.skipped, "deleted": result.deleted,
                                              "chunks": result.chunks})


def give_up(record: dict[str, Any], jobs: JobsDal, exc: Exception) -> None:
    """Last attempt failed: the job counts these records as failed (the message itself goes to the DLQ)."""
    try:
        body = json.loads(record["body"])
        records = body.get("records") or []
        jobs.finish_part(str(body["job_id"]), int(body.get("part", 0)), ok=False, failed=len(records),
                         error=f"{type(exc).__name__}: {exc}")
    except Exception:
        logger.exception("could not record the failed part")
