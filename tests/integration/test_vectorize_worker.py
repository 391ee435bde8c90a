"""The worker's SQS contract: each message stands alone (partial batch failures), a retried message is not
counted twice, and a message that fails for good is counted in its job as failed records with the error."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from devtools.lambda_context import FakeLambdaContext

pytestmark = pytest.mark.slow


def _context() -> Any:
    return FakeLambdaContext("VectorizeWorkerFunction", timeout_s=900, memory_mb=2048)


def _record(body: Any, receives: int = 1) -> dict[str, Any]:
    return {"messageId": str(uuid.uuid4()), "receiptHandle": "r", "body": json.dumps(body),
            "attributes": {"ApproximateReceiveCount": str(receives)}, "eventSource": "aws:sqs"}


@pytest.fixture
def worker(cloud: Any) -> Any:
    import vectorize_worker

    return vectorize_worker


def _job(worker: Any, tenant_id: str, parts: int, total: int) -> str:
    from chatwoot_ai.vector.jobs import new_job_id

    job_id = new_job_id()
    worker.job_store().create(job_id, tenant_id, "products", total=total, parts=parts)
    return job_id


def _part(job_id: str, tenant_id: str, part: int, records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"job_id": job_id, "tenant_id": tenant_id, "collection": "products", "part": part, "records": records}


def test_only_the_broken_message_is_reported_and_the_job_counts_it(worker: Any, tenant_id: str) -> None:
    job_id = _job(worker, tenant_id, parts=2, total=3)
    good = _record(_part(job_id, tenant_id, 0, [{"id": 1, "text": "Creme hidratante facial"}]))
    broken = _record(_part(job_id, tenant_id, 1, [{"id": 2, "text": "a", "bogus": 1}, {"id": 3, "text": "b"}]))
    result = worker.lambda_handler({"Records": [good, broken]}, _context())
    assert result == {"batchItemFailures": [{"itemIdentifier": broken["messageId"]}]}
    job = worker.job_store().get(job_id)
    assert (job["status"], job["processed"], job["failed"]) == ("done", 1, 2)
    assert "bogus" in job["errors"][0]["message"]


def test_transient_failures_are_retried_and_counted_once(worker: Any, tenant_id: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from chatwoot_ai.vector.store import VectorStore

    job_id = _job(worker, tenant_id, parts=1, total=1)
    body = _part(job_id, tenant_id, 0, [{"id": 7, "text": "Sérum facial vitamina C"}])
    real_upsert = VectorStore.upsert

    def unavailable(self: Any, *args: Any, **kwargs: Any) -> None:
        raise ConnectionError("qdrant unavailable")

    monkeypatch.setattr(VectorStore, "upsert", unavailable)
    first = _record(body, receives=1)
    assert worker.lambda_handler({"Records": [first]}, _context())["batchItemFailures"] == [
        {"itemIdentifier": first["messageId"]}]
    job = worker.job_store().get(job_id)
    assert job["status"] == "running" and job["failed"] == 0  # not given up yet: SQS will deliver it again

    monkeypatch.setattr(VectorStore, "upsert", real_upsert)
    assert worker.lambda_handler({"Records": [_record(body, receives=2)]}, _context()) == {"batchItemFailures": []}
    assert worker.lambda_handler({"Records": [_record(body, receives=3)]}, _context()) == {"batchItemFailures": []}
    job = worker.job_store().get(job_id)
    assert (job["status"], job["processed"], job["failed"]) == ("done", 1, 0)


def test_last_receive_marks_the_records_failed(worker: Any, tenant_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from chatwoot_ai.vector.store import VectorStore

    def unavailable(self: Any, *args: Any, **kwargs: Any) -> None:
        raise ConnectionError("qdrant unavailable")

    monkeypatch.setattr(VectorStore, "upsert", unavailable)
    job_id = _job(worker, tenant_id, parts=1, total=2)
    body = _part(job_id, tenant_id, 0, [{"id": 1, "text": "um"}, {"id": 2, "text": "dois"}])
    last = _record(body, receives=3)
    assert worker.lambda_handler({"Records": [last]}, _context())["batchItemFailures"] == [
        {"itemIdentifier": last["messageId"]}]
    job = worker.job_store().get(job_id)
    assert (job["status"], job["processed"], job["failed"]) == ("failed", 0, 2)
    assert "qdrant unavailable" in job["errors"][0]["message"]


def test_parts_of_a_job_that_could_not_be_queued_whole_store_nothing(worker: Any, tenant_id: str) -> None:
    from chatwoot_ai.vector import search

    job_id = _job(worker, tenant_id, parts=2, total=2)
    worker.job_store().set_status(job_id, "failed")
    worker.job_store().finish_part(job_id, -1, ok=False, error="could not queue the job")
    body = _part(job_id, tenant_id, 0, [{"id": 1, "text": "Máscara facial de argila verde"}])
    assert worker.lambda_handler({"Records": [_record(body)]}, _context()) == {"batchItemFailures": []}
    assert search(tenant_id, "products", "argila verde") == []
