"""The local runner provisions a template on the emulated cloud and drives every event source into real handlers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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
def received_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("received")


@pytest.fixture(scope="module")
def small_cloud(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory, received_dir: Path,
                ) -> Iterator[LocalCloud]:
    cloud = LocalCloud(template_path=TEMPLATE, endpoint_url=moto_endpoint, admin_key="k" * 20,
                       stack_name="rt-" + uuid.uuid4().hex[:6], data_dir=tmp_path_factory.mktemp("rt"),
                       env={"RECEIVED_DIR": str(received_dir)})
    cloud.start()
    yield cloud
    cloud.stop()


class Handlers:
    """What the fixture's handlers were given: they run in processes of their own and write it to files."""

    def __init__(self, directory: Path) -> None:
        import runner_fixture_handlers  # importable because the runner put the template's CodeUri on sys.path

        self.directory = directory
        self.received = _Received(directory, runner_fixture_handlers.received)


class _Received:
    def __init__(self, directory: Path, read: Any) -> None:
        self.directory, self.read = directory, read

    def __getitem__(self, kind: str) -> list[Any]:
        return list(self.read(self.directory, kind))


@pytest.fixture(scope="module")
def handlers(small_cloud: LocalCloud, received_dir: Path) -> Handlers:
    return Handlers(received_dir)


def test_health_lists_functions_routes_and_sources(small_cloud: LocalCloud) -> None:
    health = httpx.get(small_cloud.url + "/health").json()
    assert health["status"] == "ok"
    assert health["functions"] == ["CrashFunction", "EchoFunction", "ListenerFunction", "SlowFunction",
                                   "StateFunction", "WorkerFunction"]
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


def test_functions_no_route_reaches_run_at_a_lower_cpu_priority_than_the_http_ones(small_cloud: LocalCloud) -> None:
    """Lambda gives each environment CPU of its own; here a busy queue consumer must not slow an HTTP answer."""
    import os

    from localcloud.lambdas import BACKGROUND_NICE

    tag = f"ok-{uuid.uuid4().hex[:8]}"
    assert httpx.post(small_cloud.url + "/echo/enqueue?enqueue=1", content=tag.encode()).status_code == 201
    ddb = boto3.client("dynamodb")
    wait_for(lambda: ddb.get_item(TableName=small_cloud.stack.refs["ResultsTable"], Key={"pk": {"S": tag}}).get("Item"))
    own = os.getpriority(os.PRIO_PROCESS, 0)

    def priorities(name: str) -> set[int]:
        return {os.getpriority(os.PRIO_PROCESS, env.pid) for env in small_cloud.function(name).environments}

    background, http = priorities("WorkerFunction"), priorities("EchoFunction")
    assert background and http
    assert BACKGROUND_NICE == 10 and background == {min(own + BACKGROUND_NICE, 19)}
    assert http == {own}


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


# ------------------------------------------------------------------ Lambda's concurrency model (docs/DEVELOPING.md)
def _post_all(url: str, paths: list[str]) -> list[httpx.Response]:
    with ThreadPoolExecutor(len(paths)) as pool:
        return list(pool.map(lambda path: httpx.post(url + path, timeout=60), paths))


def test_overlapping_invocations_run_in_separate_environments_up_to_the_limit(small_cloud: LocalCloud) -> None:
    """Each overlapping invocation keeps its own module state (one invocation per environment at a time); the
    function never has more environments than its ReservedConcurrentExecutions (3); the rest queue."""
    for _round in range(3):
        names = [f"tenant-{i}-{uuid.uuid4().hex[:4]}" for i in range(9)]
        responses = _post_all(small_cloud.url, [f"/state/{name}?sleep=0.3" for name in names])
        assert [r.status_code for r in responses] == [200] * len(names)
        assert [r.json()["name"] for r in responses] == names
        pids = {r.json()["pid"] for r in responses}
        assert 1 < len(pids) <= 3
    assert len(small_cloud.function("StateFunction").environments) <= 3


def test_a_function_never_sees_another_functions_module_state(small_cloud: LocalCloud) -> None:
    state = httpx.post(small_cloud.url + "/state/x?sleep=0").json()
    echo = httpx.post(small_cloud.url + "/echo/y", content=b"").json()
    assert state["function"] == "StateFunction"
    assert echo["marker"] is None  # the same module file, another function: another process
    assert echo["pid"] != state["pid"]
    assert echo["env_function"] == "EchoFunction"


def test_health_reports_the_memory_of_the_runner_and_of_each_environment(small_cloud: LocalCloud) -> None:
    import os

    state = httpx.post(small_cloud.url + "/state/memoria?sleep=0").json()
    memory = httpx.get(small_cloud.url + "/health").json()["memory"]
    assert memory["runner"]["pid"] == os.getpid() and memory["runner"]["rss_mb"] > 0
    assert memory["moto"]["pid"] == small_cloud.moto_pid != os.getpid()  # the session's moto, asked for its pid
    environments = memory["functions"]["StateFunction"]
    assert state["pid"] in {e["pid"] for e in environments}
    assert all(e["rss_mb"] > 0 and e["peak_mb"] >= e["rss_mb"] for e in environments)
    assert memory["total_rss_mb"] >= memory["runner"]["rss_mb"] + sum(e["rss_mb"] for e in environments)


def test_each_environment_start_is_logged_with_its_pid_init_time_and_memory(small_cloud: LocalCloud) -> None:
    lines: list[tuple[str, str]] = []
    small_cloud.log_listeners.append(lambda function, line: lines.append((function, line)))
    try:
        small_cloud.update_environment({"NEW_ENVIRONMENT": uuid.uuid4().hex}, "EchoFunction")  # a cold start
        echo = httpx.post(small_cloud.url + "/echo/inicio", content=b"").json()
    finally:
        small_cloud.log_listeners.pop()
    started = [json.loads(line) for function, line in lines
               if function == "EchoFunction" and "execution environment started" in line]
    assert len(started) == 1, lines
    assert started[0]["function_name"] == "EchoFunction" and started[0]["pid"] == echo["pid"]
    assert started[0]["init_s"] >= 0 and started[0]["rss_mb"] > 0


def test_an_environment_that_dies_fails_its_invocation_and_is_replaced(small_cloud: LocalCloud) -> None:
    function = small_cloud.function("CrashFunction")
    errors = function.errors
    for _ in range(2):
        response = httpx.post(small_cloud.url + "/crash", timeout=30)
        assert response.status_code == 500
        assert response.json() == {"message": "Internal Server Error"}
    assert function.errors == errors + 2
    assert function.environments == []  # a dead process is never handed another invocation
    assert httpx.post(small_cloud.url + "/echo/still-up", content=b"").status_code == 201


def test_a_timed_out_invocation_ends_its_environment(small_cloud: LocalCloud) -> None:
    before = httpx.post(small_cloud.url + "/slow?sleep=0", timeout=30).json()["pid"]
    timed_out = httpx.post(small_cloud.url + "/slow?sleep=5", timeout=30)
    assert timed_out.status_code == 500  # Timeout: 1 in the template
    after = httpx.post(small_cloud.url + "/slow?sleep=0", timeout=30).json()["pid"]
    assert after != before  # a new environment (a new cold start)


def test_the_init_phase_does_not_count_against_the_timeout(small_cloud: LocalCloud) -> None:
    """As in Lambda, a cold start (here a 1.5 s import) has its own limit; the 1 s Timeout starts after it."""
    function = small_cloud.function("SlowFunction")
    small_cloud.update_environment({"IMPORT_DELAY_S": "1.5"}, "SlowFunction")
    try:
        response = httpx.post(small_cloud.url + "/slow?sleep=0.5", timeout=30)
        assert response.status_code == 200, response.text
        assert function.cold_starts[-1] >= 1.5
    finally:
        small_cloud.update_environment({"IMPORT_DELAY_S": None}, "SlowFunction")


def test_a_worker_process_that_dies_mid_batch_leaves_its_messages_to_be_retried(small_cloud: LocalCloud) -> None:
    tag = f"crash-once-{uuid.uuid4().hex[:8]}"
    boto3.client("sqs").send_message(QueueUrl=small_cloud.stack.refs["WorkQueue"], MessageBody=tag)
    ddb = boto3.client("dynamodb")
    table = small_cloud.stack.refs["ResultsTable"]
    assert wait_for(lambda: ddb.get_item(TableName=table, Key={"pk": {"S": tag}}).get("Item"), timeout=30)


def test_update_environment_reaches_new_environments_only(small_cloud: LocalCloud, handlers: Handlers) -> None:
    first = httpx.post(small_cloud.url + "/echo/a", content=b"").json()
    small_cloud.update_environment({"EXTRA_SETTING": "on"}, "EchoFunction")
    second = httpx.post(small_cloud.url + "/echo/b", content=b"").json()
    assert (first["extra_setting"], second["extra_setting"]) == (None, "on")
    assert second["pid"] != first["pid"]
    assert all(env.alive for env in small_cloud.function("EchoFunction").environments)
