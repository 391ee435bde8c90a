"""A vectorize request is validated whole before anything is stored, then split into queue messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from chatwoot_ai.errors import ApiError
from chatwoot_ai.vector.models import SearchRequest, VectorizeMessage, VectorizeRequest
from chatwoot_ai.vector.submit import enqueue, plan, validate


def _request(records: list[dict[str, Any]], **extra: Any) -> VectorizeRequest:
    return VectorizeRequest.model_validate({"tenant_id": "t1", "collection": "products", "records": records, **extra})


def _error(records: list[dict[str, Any]], **extra: Any) -> ApiError:
    with pytest.raises(ApiError) as info:
        validate(_request(records, **extra))
    return info.value


def test_integer_and_string_ids_are_one_canonical_string() -> None:
    request = _request([{"id": 7, "text": "a"}, {"id": " x-1 ", "text": "b"}], delete_ids=[9])
    assert [r.id for r in request.records] == ["7", "x-1"] and request.delete_ids == ["9"]


def test_empty_text_names_the_record() -> None:
    error = _error([{"id": 1, "text": "ok"}, {"id": 2, "text": "   "}])
    assert (error.status, error.code, error.field) == (422, "empty_text", "records.1.text")


def test_archived_records_need_no_text() -> None:
    validate(_request([{"id": 1, "archived": True}, {"id": 2, "metadata": {"active": False}}]))


def test_oversize_record_is_413_naming_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    from chatwoot_ai.settings import reset_settings

    monkeypatch.setenv("VECTORIZE_MAX_RECORD_CHARS", "100")
    reset_settings()
    try:
        error = _error([{"id": 1, "text": "x" * 101}])
    finally:
        monkeypatch.undo()
        reset_settings()
    assert (error.status, error.code, error.field) == (413, "record_too_large", "records.0.text")


def test_duplicate_ids_and_empty_requests_are_rejected() -> None:
    assert _error([{"id": 1, "text": "a"}, {"id": "1", "text": "b"}]).field == "records.1.id"
    assert _error([]).status == 422
    conflict = _error([{"id": 1, "text": "a"}, {"id": 2, "text": "b"}], delete_ids=[2])
    assert (conflict.code, conflict.field) == ("conflicting_ids", "records.1.id")


def test_bad_names_fail_validation() -> None:
    with pytest.raises(ValidationError):
        VectorizeRequest.model_validate({"tenant_id": "t1", "collection": "Bad Name!", "records": []})
    with pytest.raises(ValidationError):
        VectorizeRequest.model_validate({"tenant_id": "t 1", "collection": "products", "records": []})
    with pytest.raises(ValidationError):
        VectorizeRequest.model_validate({"tenant_id": "t1", "collection": "products", "records": [{"id": 1,
                                         "text": "a", "unknown": 1}]})
    with pytest.raises(ValidationError):
        SearchRequest.model_validate({"tenant_id": "t1", "collection": "products", "query": "  "})
    with pytest.raises(ValidationError):
        SearchRequest.model_validate({"tenant_id": "t1", "collection": "products", "query": "a",
                                      "filter": {"metadata.x": 1}})


def test_plan_splits_by_count_and_size_and_deletions_ride_in_part_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    from chatwoot_ai.settings import reset_settings

    monkeypatch.setenv("VECTORIZE_RECORDS_PER_MESSAGE", "10")
    reset_settings()
    try:
        small = [{"id": i, "text": f"produto {i}"} for i in range(25)]
        parts = plan(_request(small, delete_ids=["a"]), "job1")
        assert [len(p.records) for p in parts] == [10, 10, 5]
        assert [p.part for p in parts] == [0, 1, 2] and parts[0].delete_ids == ["a"] and parts[1].delete_ids == []
        big = [{"id": i, "text": "x" * 50_000} for i in range(8)]
        parts = plan(_request(big), "job2")
        assert all(len(p.model_dump_json()) < 210_000 for p in parts) and sum(len(p.records) for p in parts) == 8
        only_deletes = plan(_request([], delete_ids=["1", "2"]), "job3")
        assert len(only_deletes) == 1 and only_deletes[0].delete_ids == ["1", "2"]
    finally:
        monkeypatch.undo()
        reset_settings()
    assert VectorizeMessage.model_validate(json.loads(parts[0].model_dump_json())) == parts[0]


class _Sqs:
    def __init__(self) -> None:
        self.batches: list[list[dict[str, str]]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.batches.append(Entries)
        return {"Successful": [{"Id": e["Id"]} for e in Entries]}


def test_enqueue_groups_at_most_ten_messages_and_240kb() -> None:
    sqs = _Sqs()
    enqueue(sqs, "q", ["a"] * 23)
    assert [len(b) for b in sqs.batches] == [10, 10, 3]
    sqs = _Sqs()
    enqueue(sqs, "q", ["x" * 100_000] * 5)
    assert all(sum(len(e["MessageBody"]) for e in b) <= 240_000 for b in sqs.batches)
    assert sum(len(b) for b in sqs.batches) == 5


class _Jobs:
    def __init__(self) -> None:
        self.created: list[str] = []
        self.status: dict[str, str] = {}
        self.failed_parts: list[tuple[str, int, str | None]] = []

    def create(self, job_id: str, *args: Any, **kwargs: Any) -> None:
        self.created.append(job_id)
        self.status[job_id] = "queued"

    def set_status(self, job_id: str, status: str, only_from: tuple[str, ...] = ()) -> None:
        self.status[job_id] = status

    def finish_part(self, job_id: str, part: int, *, ok: bool, error: str | None = None, **counters: int) -> None:
        self.failed_parts.append((job_id, part, error))


class _BrokenSqs(_Sqs):
    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        if self.batches:
            raise ConnectionError("sqs unavailable")
        return super().send_message_batch(QueueUrl, Entries)


def test_a_job_that_cannot_be_queued_whole_is_failed_and_reported() -> None:
    from chatwoot_ai.settings import reset_settings
    from chatwoot_ai.vector.submit import submit

    jobs = _Jobs()
    request = _request([{"id": i, "text": "x" * 30_000} for i in range(20)])
    reset_settings()
    with pytest.raises(ApiError) as info:
        submit(request, jobs, _BrokenSqs(), "queue-url")  # type: ignore[arg-type]
    assert (info.value.status, info.value.code) == (503, "queue_unavailable")
    job_id = jobs.created[0]
    # the parts that did go out see a failed job with part -1 and do nothing (vectorize_worker)
    assert jobs.status[job_id] == "failed" and jobs.failed_parts[0][:2] == (job_id, -1)


def test_bad_requests_never_create_a_job() -> None:
    from chatwoot_ai.vector.submit import submit

    jobs = _Jobs()
    with pytest.raises(ApiError):
        submit(_request([{"id": 1, "text": ""}]), jobs, _Sqs(), "queue-url")  # type: ignore[arg-type]
    assert jobs.created == []
