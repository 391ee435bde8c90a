"""The API's domain logic: validate a vectorize request whole, then record a job and queue its parts.

Validation happens before anything is written, so a bad request stores nothing. Parts are SQS messages of at most
`vectorize_records_per_message` records and ~200 KB (SQS takes 256 KB).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chatwoot_ai.errors import ApiError, bad_request, not_found
from chatwoot_ai.models import DEFAULT_COLLECTIONS
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import get_settings
from chatwoot_ai.vector.jobs import JobsDal, new_job_id
from chatwoot_ai.vector.models import VectorizeMessage, VectorizeRequest, VectorRecord

MAX_MESSAGE_BYTES = 200_000
MAX_METADATA_BYTES = 16_000
_SQS_BATCH_BYTES = 240_000


def known_collections() -> list[str]:
    from chatwoot_ai.vector.store import get_store

    return sorted(set(DEFAULT_COLLECTIONS) | set(get_store().list_collections()))


def require_collection(name: str) -> None:
    if name not in DEFAULT_COLLECTIONS and name not in known_collections():
        raise ApiError(404, "unknown_collection",
                       f"collection {name!r} does not exist; create it with POST /collections "
                       f"or use one of {', '.join(DEFAULT_COLLECTIONS)}", "collection")


def validate(request: VectorizeRequest) -> None:
    """Every rule a record must meet, checked before anything is stored. Raises the first violation."""
    settings = get_settings()
    if not request.records and not request.delete_ids:
        raise ApiError(422, "validation_error", "send records to store or delete_ids to remove", "records")
    if len(request.records) > settings.vectorize_max_records:
        raise ApiError(413, "too_many_records", f"at most {settings.vectorize_max_records} records per request; "
                       "split the upload into several requests", "records")
    if len(request.delete_ids) > settings.vectorize_max_records:
        raise ApiError(413, "too_many_records", f"at most {settings.vectorize_max_records} delete_ids per request",
                       "delete_ids")
    seen: set[str] = set()
    deleting = set(request.delete_ids)
    for index, record in enumerate(request.records):
        if record.id in seen:
            raise ApiError(422, "duplicate_id", f"record id {record.id!r} appears twice", f"records.{index}.id")
        seen.add(record.id)
        if record.id in deleting:
            # Parts run in parallel: "delete 7" and "store 7" in one job would race.
            raise ApiError(422, "conflicting_ids", f"record id {record.id!r} is also in delete_ids",
                           f"records.{index}.id")
        if not record.removed and not record.text.strip():
            raise ApiError(422, "empty_text", "text must not be empty (send archived: true to remove a record)",
                           f"records.{index}.text")
        if len(record.text) > settings.vectorize_max_record_chars:
            raise ApiError(413, "record_too_large", f"text has {len(record.text)} characters; the limit is "
                           f"{settings.vectorize_max_record_chars}", f"records.{index}.text")
        meta_bytes = len(json.dumps(record.metadata, ensure_ascii=False, default=str).encode())
        if meta_bytes > MAX_METADATA_BYTES:
            raise ApiError(413, "record_too_large", f"metadata is {meta_bytes} bytes; the limit is "
                           f"{MAX_METADATA_BYTES}", f"records.{index}.metadata")
        if _record_bytes(record) > MAX_MESSAGE_BYTES:
            raise ApiError(413, "record_too_large", "record is larger than one queue message (200 KB)",
                           f"records.{index}")


def _record_bytes(record: VectorRecord) -> int:
    return len(record.model_dump_json().encode())


def plan(request: VectorizeRequest, job_id: str) -> list[VectorizeMessage]:
    """The job's parts: deletions ride in part 0; records are split by count and size."""
    per_message = max(1, get_settings().vectorize_records_per_message)
    parts: list[VectorizeMessage] = []
    current: list[VectorRecord] = []
    size = 0
    for record in request.records:
        record_size = _record_bytes(record)
        if current and (len(current) >= per_message or size + record_size > MAX_MESSAGE_BYTES):
            parts.append(_message(request, job_id, len(parts), current))
            current, size = [], 0
        current.append(record)
        size += record_size
    if current or not parts:
        parts.append(_message(request, job_id, len(parts), current))
    parts[0].delete_ids = list(request.delete_ids)
    return parts


def _message(request: VectorizeRequest, job_id: str, part: int, records: list[VectorRecord]) -> VectorizeMessage:
    return VectorizeMessage(job_id=job_id, tenant_id=request.tenant_id, collection=request.collection, part=part,
                            records=list(records))


def enqueue(sqs: Any, queue_url: str, bodies: Sequence[str]) -> None:
    """SendMessageBatch in groups of 10 entries and at most ~240 KB; any entry that fails raises."""
    group: list[str] = []
    size = 0
    for body in bodies:
        body_size = len(body.encode())
        if group and (len(group) == 10 or size + body_size > _SQS_BATCH_BYTES):
            _send(sqs, queue_url, group)
            group, size = [], 0
        group.append(body)
        size += body_size
    if group:
        _send(sqs, queue_url, group)


def _send(sqs: Any, queue_url: str, bodies: list[str]) -> None:
    response = sqs.send_message_batch(QueueUrl=queue_url,
                                      Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)])
    if response.get("Failed"):
        raise RuntimeError(f"SQS refused {len(response['Failed'])} message(s): {response['Failed'][0]}")


def submit(request: VectorizeRequest, jobs: JobsDal, sqs: Any, queue_url: str, kind: str = "push") -> dict[str, Any]:
    """Validate, record the job, queue its parts. Returns the 202 body."""
    require_collection(request.collection)
    validate(request)
    if not queue_url:
        raise ApiError(503, "not_configured", "VECTORIZE_QUEUE_URL is not set")
    job_id = new_job_id()
    parts = plan(request, job_id)
    jobs.create(job_id, request.tenant_id, request.collection, total=len(request.records), parts=len(parts),
                kind=kind)
    try:
        enqueue(sqs, queue_url, [p.model_dump_json() for p in parts])
    except Exception as exc:
        # Parts already queued see the failed job and do nothing: the job is all or nothing.
        jobs.set_status(job_id, "failed")
        jobs.finish_part(job_id, -1, ok=False, error=f"could not queue the job: {exc}")
        logger.exception("vectorize job could not be queued", extra={"job_id": job_id})
        raise ApiError(503, "queue_unavailable", "the job could not be queued; send it again") from exc
    logger.info("vectorize job queued", extra={"job_id": job_id, "tenant_id": request.tenant_id,
                                               "collection": request.collection, "records": len(request.records),
                                               "deletes": len(request.delete_ids), "parts": len(parts)})
    return {"job_id": job_id, "status": "queued", "records": len(request.records),
            "delete_ids": len(request.delete_ids), "parts": len(parts)}


def not_found_job(job_id: str) -> ApiError:
    return not_found(f"no job {job_id}", "job_id")


__all__ = ["bad_request", "enqueue", "known_collections", "plan", "require_collection", "submit", "validate"]
