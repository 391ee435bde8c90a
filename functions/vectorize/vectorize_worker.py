"""VectorizeWorkerFunction: SQS messages (parts of vectorize jobs) -> embeddings -> Qdrant.

Each message is handled on its own: a failure is reported in `batchItemFailures`, so only that message returns to
the queue; on its last receive (the queue's maxReceiveCount) its records are counted as failed in the job, with the
error, and the queue moves it to the DLQ. Point ids are deterministic and unchanged records are skipped, so a
redelivered message is harmless.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chatwoot_ai import aws
from chatwoot_ai.config import get_config_cache, is_config_changed_event
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import get_settings
from chatwoot_ai.vector.jobs import JobsDal
from chatwoot_ai.vector.models import VectorizeMessage


def _jobs() -> JobsDal:
    settings = get_settings()
    return JobsDal(aws.table(settings.jobs_table), settings.vectorize_jobs_ttl_days)


def handle_record(record: dict[str, Any], jobs: JobsDal) -> None:
    """One SQS message. Raises to have it retried."""
    body = json.loads(record["body"])
    if "reindex" in body:
        from chatwoot_ai.vector.embeddings import get_embedder
        from chatwoot_ai.vector.reindex import run_reindex_step
        from chatwoot_ai.vector.store import get_store

        run_reindex_step(body, jobs, aws.client("sqs"), get_settings().vectorize_queue_url, get_store(),
                         get_embedder())
        return
    if "sync" in body:
        from chatwoot_ai.vector.sync import run_sync

        run_sync(body, jobs, aws.client("sqs"), get_settings().vectorize_queue_url)
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


def _give_up(record: dict[str, Any], jobs: JobsDal, exc: Exception) -> None:
    """Last attempt failed: the job counts these records as failed (the message itself goes to the DLQ)."""
    try:
        body = json.loads(record["body"])
        records = body.get("records") or []
        jobs.finish_part(str(body["job_id"]), int(body.get("part", 0)), ok=False, failed=len(records),
                         error=f"{type(exc).__name__}: {exc}")
    except Exception:
        logger.exception("could not record the failed part")


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if is_config_changed_event(event):
        get_config_cache().handle_event(event)
        return {}
    jobs = _jobs()
    max_receives = get_settings().vectorize_max_receive_count
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        try:
            handle_record(record, jobs)
        except Exception as exc:
            receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
            logger.exception("vectorize part failed", extra={"message_id": record.get("messageId"),
                                                             "receive_count": receives})
            if receives >= max_receives or isinstance(exc, ValueError):
                _give_up(record, jobs, exc)
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
