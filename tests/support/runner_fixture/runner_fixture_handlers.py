"""Handlers of the runner's test template. Each runs in an execution environment of its own (a process), so what
they were given is written to `RECEIVED_DIR/<kind>.jsonl` for the tests to read."""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

import boto3

# Module state, as handlers written for Lambda keep it: `state` sets these; `echo` (another function from the same
# module file) must never see them, and two overlapping `state` invocations must never see each other's.
current: str | None = None
marker: str | None = None
time.sleep(float(os.environ.get("IMPORT_DELAY_S", "0")))  # a slow init phase (a heavy import), when asked for


def _record(kind: str, item: Any) -> None:
    path = Path(os.environ["RECEIVED_DIR"]) / f"{kind}.jsonl"
    with path.open("a", encoding="utf-8") as out:
        fcntl.flock(out, fcntl.LOCK_EX)
        out.write(json.dumps(item) + "\n")


def received(directory: str | Path, kind: str) -> list[Any]:
    path = Path(directory) / f"{kind}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _record("http", event)
    if event.get("queryStringParameters", {}).get("enqueue"):
        boto3.client("sqs").send_message(QueueUrl=os.environ["WORK_QUEUE_URL"], MessageBody=event.get("body", ""))
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-function": context.function_name},
        "body": json.dumps({"route": event["routeKey"], "params": event.get("pathParameters"),
                            "body": event.get("body"), "remaining_ms": context.get_remaining_time_in_millis(),
                            "marker": marker, "pid": os.getpid(),
                            "env_function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
                            "extra_setting": os.environ.get("EXTRA_SETTING")}),
    }


def state(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Keeps the request's name on the module, waits, and answers what the module holds then."""
    global current, marker
    current = event["pathParameters"]["name"]
    marker = "set by StateFunction"
    time.sleep(float((event.get("queryStringParameters") or {}).get("sleep", "0.2")))
    return {"name": current, "pid": os.getpid(), "function": context.function_name}


def crash(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Ends its process mid-invocation (an out-of-memory kill, a segfault in a native library)."""
    os._exit(3)


def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(float((event.get("queryStringParameters") or {}).get("sleep", "0")))
    return {"pid": os.getpid()}


def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        _record("sqs", record)
        body = record["body"]
        once = Path(os.environ["RECEIVED_DIR"]) / f"crashed-{body}"
        if body.startswith("crash-once") and not once.exists():
            once.touch()
            os._exit(4)  # the whole batch is still on the queue: it comes back after the visibility timeout
        if body.startswith("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
        else:
            boto3.client("dynamodb").put_item(TableName=os.environ["RESULTS_TABLE"], Item={"pk": {"S": body}})
    return {"batchItemFailures": failures}


def listener(event: dict[str, Any], context: Any) -> None:
    if "detail-type" in event:
        _record("eventbridge", event)
        return
    for record in event.get("Records", []):
        if record.get("eventSource") == "aws:dynamodb":
            _record("stream", record)
        elif record.get("EventSource") == "aws:sns":
            _record("sns", record)
