"""events/: an example for every function of the template, each the event that function's trigger delivers, and
exactly what the generator (`python -m localcloud generate-event examples`) makes, so they never drift apart."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from localcloud import events
from localcloud.template import functions, load_template

ROOT = Path(__file__).resolve().parents[2]
SPECS = {spec.logical_id: spec for spec in functions(load_template())}
FILES = sorted((ROOT / "events").glob("*.json"))


def _function_of(path: Path) -> str:
    match = re.fullmatch(r"([A-Za-z0-9]+Function)(-[a-z0-9-]+)?\.json", path.name)
    assert match, f"{path.name}: not events/<FunctionLogicalId>[-case].json"
    return match.group(1)


def test_every_function_has_an_example_and_every_example_a_function() -> None:
    covered = {_function_of(path) for path in FILES}
    assert covered == set(SPECS)
    assert {path.stem for path in FILES if "-" not in path.stem} == set(SPECS)  # the default of `make invoke FN=`


def test_the_files_are_what_the_generator_makes() -> None:
    assert {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in FILES} == events.examples()


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_each_example_is_an_event_its_function_receives(path: Path) -> None:
    spec = SPECS[_function_of(path)]
    event = json.loads(path.read_text(encoding="utf-8"))
    triggers = [e for e in spec.events.values()]
    if event.get("version") == "2.0":  # API Gateway HTTP API
        keys = {f"{e['Properties'].get('Method', 'ANY').upper()} {e['Properties']['Path']}"
                for e in triggers if e["Type"] == "HttpApi"}
        assert event["routeKey"] in keys
    elif event.get("detail-type") == "Scheduled Event":  # an EventBridge schedule rule
        assert any(e["Type"] == "Schedule" for e in triggers)
    elif "detail-type" in event:  # EventBridge
        patterns = [e["Properties"]["Pattern"] for e in triggers if e["Type"] == "EventBridgeRule"]
        assert any(event["source"] in p["source"] and event["detail-type"] in p["detail-type"] for p in patterns)
    else:
        record = event["Records"][0]
        kinds = {e["Type"] for e in triggers}
        assert {"aws:sqs": "SQS", "aws:dynamodb": "DynamoDB"}[record["eventSource"]] in kinds


def test_the_worker_examples_carry_the_messages_the_workers_read() -> None:
    from chatwoot_ai.conversation.queue_job import ConversationJob
    from chatwoot_ai.vector.models import VectorizeMessage

    conversation = json.loads((ROOT / "events/ConversationWorkerFunction.json").read_text())["Records"][0]
    job = ConversationJob.model_validate_json(conversation["body"])
    assert conversation["attributes"]["MessageGroupId"] == job.group_id
    VectorizeMessage.model_validate_json(
        json.loads((ROOT / "events/VectorizeWorkerFunction.json").read_text())["Records"][0]["body"])


def test_a_generated_webhook_is_signed_as_chatwoot_signs_it() -> None:
    from chatwoot_ai.signing import verify

    event = events.webhook(events.message_created("Oi! Qual o horário de vocês?", conversation_id=5), "segredo")
    headers = event["headers"]
    verify("segredo", headers["x-chatwoot-timestamp"], headers["x-chatwoot-signature"], event["body"].encode())
    payload = json.loads(event["body"])
    assert (payload["account"]["id"], payload["conversation"]["id"], payload["content"]) == (
        1, 5, "Oi! Qual o horário de vocês?")
    assert event["routeKey"] == "POST /webhooks/chatwoot"
