"""The local runner provisions a template on the emulated cloud and drives every event source into real handlers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from localcloud.cloud import LocalCloud

TEMPLATE = Path(__file__).resolve().parents[1] / "support" / "runner_fixture" / "template.yaml"


def wait_for(predicate: Any, timeout: float = 15.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@pytest.fixture(scope="module")
def small_cloud(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    cloud = LocalCloud(template_path=TEMPLATE, endpoint_url=moto_endpoint, admin_key="k" * 20,
                       stack_name="rt-" + uuid.uuid4().hex[:6], data_dir=tmp_path_factory.mktemp("rt"))
    cloud.start()
    yield cloud
    cloud.stop()


@pytest.fixture(scope="module")
def handlers(small_cloud: LocalCloud) -> Any:
    import runner_fixture_handlers  # importable because the runner put the template's CodeUri on sys.path

    return runner_fixture_handlers


def test_health_lists_functions_routes_and_sources(small_cloud: LocalCloud) -> None:
    health = httpx.get(small_cloud.url + "/health").json()
    assert health["status"] == "ok"
    assert health["functions"] == ["EchoFunction", "ListenerFunction", "WorkerFunction"]
    assert "POST /echo/{name}" in health["routes"]
    assert any(name.startswith("WorkerFunction.Work") for name in health["event_sources"])


def test_http_request_reaches_handler_as_api_gateway_v2_event(small_cloud: LocalCloud, handlers: Any) -> None:
    body = "Olá, ação já!".encode()
    response = httpx.post(small_cloud.url + "/echo/pedido%20123?a=1&a=2", content=body,
                          headers={"X-Custom": "v"})
    assert response.status_code == 201
    assert response.headers["x-function"] == "EchoFunction"
    payload = response.json()
    assert payload["route"] == "POST /echo/{name}"
    assert payload["params"] == {"name": "pedido 123"}
    assert payload["body"] == "Olá, ação já!"
    assert 0 < payload["remaining_ms"] <= 10_000
    event = handlers.received["http"][-1]
    assert event["version"] == "2.0"
    assert event["headers"]["x-custom"] == "v"
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["requestContext"]["http"]["method"] == "POST"


def test_most_specific_route_wins_and_unknown_paths_are_404(small_cloud: LocalCloud) -> None:
    assert httpx.get(small_cloud.url + "/echo/a/b").json()["route"] == "ANY /echo/{proxy+}"
    missing = httpx.get(small_cloud.url + "/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_cors_only_for_the_viewer_origin(small_cloud: LocalCloud) -> None:
    allowed = small_cloud.url
    ok = httpx.options(small_cloud.url + "/echo/x",
                       headers={"Origin": allowed, "Access-Control-Request-Method": "POST"})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == allowed
    denied = httpx.options(small_cloud.url + "/echo/x",
                           headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in denied.headers


def test_sqs_partial_batch_failure_keeps_only_the_failed_message(small_cloud: LocalCloud, handlers: Any) -> None:
    sqs = boto3.client("sqs")
    ddb = boto3.client("dynamodb")
    queue = small_cloud.stack.refs["WorkQueue"]
    dlq = small_cloud.stack.refs["WorkDLQ"]
    tag = uuid.uuid4().hex[:8]
    sqs.send_message_batch(QueueUrl=queue, Entries=[
        {"Id": "1", "MessageBody": f"ok-{tag}-1"},
        {"Id": "2", "MessageBody": f"fail-{tag}"},
        {"Id": "3", "MessageBody": f"ok-{tag}-2"},
    ])
    table = small_cloud.stack.refs["ResultsTable"]
    for key in (f"ok-{tag}-1", f"ok-{tag}-2"):
        wait_for(lambda key=key: ddb.get_item(TableName=table, Key={"pk": {"S": key}}).get("Item"))

    # The failed one is redelivered (maxReceiveCount 2), then moved to the DLQ; the good ones are never seen again.
    def in_dlq() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        return [m for m in messages if m["Body"] == f"fail-{tag}"]

    assert wait_for(in_dlq, timeout=20)
    bodies = [r["body"] for r in handlers.received["sqs"]]
    assert bodies.count(f"fail-{tag}") == 2
    assert bodies.count(f"ok-{tag}-1") == 1
    assert bodies.count(f"ok-{tag}-2") == 1


def test_http_to_queue_to_worker_round_trip(small_cloud: LocalCloud) -> None:
    tag = f"ok-{uuid.uuid4().hex[:8]}"
    response = httpx.post(small_cloud.url + "/echo/enqueue?enqueue=1", content=tag.encode())
    assert response.status_code == 201
    ddb = boto3.client("dynamodb")
    table = small_cloud.stack.refs["ResultsTable"]
    wait_for(lambda: ddb.get_item(TableName=table, Key={"pk": {"S": tag}}).get("Item"))


def test_stream_eventbridge_and_sns_reach_the_listener(small_cloud: LocalCloud, handlers: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    boto3.client("dynamodb").put_item(TableName=small_cloud.stack.refs["ResultsTable"], Item={"pk": {"S": tag}})
    boto3.client("events").put_events(Entries=[{
        "Source": "tests.runner", "DetailType": "Ping", "Detail": json.dumps({"tag": tag}),
        "EventBusName": small_cloud.stack.refs["Bus"],
    }])
    boto3.client("events").put_events(Entries=[{
        "Source": "someone.else", "DetailType": "Ping", "Detail": json.dumps({"tag": "other-" + tag}),
        "EventBusName": small_cloud.stack.refs["Bus"],
    }])
    boto3.client("sns").publish(TopicArn=small_cloud.stack.refs["Topic"], Message=tag)

    wait_for(lambda: any(r["dynamodb"]["Keys"]["pk"]["S"] == tag for r in handlers.received["stream"]))
    wait_for(lambda: any(e["detail"].get("tag") == tag for e in handlers.received["eventbridge"]))
    wait_for(lambda: any(r["Sns"]["Message"] == tag for r in handlers.received["sns"]))
    time.sleep(1.5)
    assert not any(e["detail"].get("tag") == "other-" + tag for e in handlers.received["eventbridge"])


def test_oversize_body_is_refused_before_the_function(small_cloud: LocalCloud) -> None:
    response = httpx.post(small_cloud.url + "/echo/big", content=b"x" * (6 * 1024 * 1024 + 1))
    assert response.status_code == 413
