"""ConfigStreamFunction: stream records -> one ConfigChanged event per committed change; failures are retried."""

from __future__ import annotations

import json
from typing import Any

import config_stream
import pytest

from devtools.lambda_context import FakeLambdaContext


def record(seq: str, image: dict[str, Any], event_name: str = "INSERT") -> dict[str, Any]:
    key = "OldImage" if event_name == "REMOVE" else "NewImage"
    return {"eventName": event_name, "eventSource": "aws:dynamodb",
            "dynamodb": {"SequenceNumber": seq, key: image}}


def head(version: int, tenant: str = "loja") -> dict[str, Any]:
    return {"pk": {"S": f"TENANT#{tenant}#default"}, "sk": {"S": "HEAD#config"}, "kind": {"S": "head"},
            "tenant_id": {"S": tenant}, "domain": {"S": "default"}, "config_type": {"S": "config"},
            "version": {"N": str(version)}}


def history(version: int) -> dict[str, Any]:
    return {**head(version), "sk": {"S": f"V#config#{version:010d}"}, "kind": {"S": "version"}}


def mapping(account: int, inbox: int | None) -> dict[str, Any]:
    return {"pk": {"S": f"ACCOUNT#{account}"}, "sk": {"S": f"INBOX#{inbox or '*'}"}, "kind": {"S": "mapping"},
            "chatwoot_account_id": {"N": str(account)},
            "chatwoot_inbox_id": {"N": str(inbox)} if inbox else {"NULL": True}, "tenant_id": {"S": "loja"}}


class Events:
    def __init__(self, fail_on: set[int] | None = None, raise_on_call: int | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail_on = fail_on or set()
        self.raise_on_call = raise_on_call
        self.calls = 0

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        if self.raise_on_call == self.calls:
            raise ConnectionError("events endpoint unreachable")
        results: list[dict[str, Any]] = []
        for _entry in Entries:
            index = len(self.sent) + len(results)
            results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "x"} if index in self.fail_on
                           else {"EventId": str(index)})
        self.sent += [e for e, r in zip(Entries, results, strict=True) if "EventId" in r]
        return {"FailedEntryCount": sum(1 for r in results if "ErrorCode" in r), "Entries": results}


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> Events:
    fake = Events()
    monkeypatch.setattr(config_stream.aws, "client", lambda service: fake)
    return fake


def test_each_committed_change_becomes_one_event_and_history_items_none(events: Events) -> None:
    result = config_stream.lambda_handler({"Records": [
        record("1", head(2)), record("2", history(2)),
        record("3", mapping(7, None), "MODIFY"), record("4", mapping(7, 3), "REMOVE"),
    ]}, FakeLambdaContext())
    assert result == {"batchItemFailures": []}
    details = [json.loads(e["Detail"]) for e in events.sent]
    assert details == [
        {"kind": "config", "tenant_id": "loja", "domain": "default", "config_type": "config", "version": 2},
        {"kind": "mapping", "chatwoot_account_id": 7, "chatwoot_inbox_id": None, "installation": "default"},
        {"kind": "mapping", "chatwoot_account_id": 7, "chatwoot_inbox_id": 3, "installation": "default"},
    ]
    assert {(e["Source"], e["DetailType"]) for e in events.sent} == {("chatwoot-ai.config", "ConfigChanged")}


def test_a_removed_document_is_announced_without_a_version(events: Events) -> None:
    config_stream.lambda_handler({"Records": [record("1", head(4), "REMOVE")]}, FakeLambdaContext())
    assert json.loads(events.sent[0]["Detail"])["version"] is None


def test_a_failed_entry_is_reported_so_lambda_retries_from_it(events: Events) -> None:
    events.fail_on = {1}
    records = [record(str(n), head(n)) for n in range(1, 4)]
    result = config_stream.lambda_handler({"Records": records}, FakeLambdaContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": "2"}]}


def test_an_unreachable_bus_fails_from_the_first_unpublished_chunk(events: Events) -> None:
    events.raise_on_call = 2  # the second PutEvents call (records 11..12)
    records = [record(str(n), head(n)) for n in range(1, 13)]
    result = config_stream.lambda_handler({"Records": records}, FakeLambdaContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": "11"}]}
    assert len(events.sent) == 10


def test_a_batch_with_nothing_to_announce_calls_nothing(events: Events) -> None:
    result = config_stream.lambda_handler({"Records": [record("1", history(1))]}, FakeLambdaContext())
    assert result == {"batchItemFailures": []} and events.calls == 0
