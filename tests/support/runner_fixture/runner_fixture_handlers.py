"""Handlers of the runner's test template: they record what they were given so the tests can look."""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import boto3

received: dict[str, list[Any]] = {"http": [], "sqs": [], "stream": [], "eventbridge": [], "sns": []}
_lock = threading.Lock()


def _record(kind: str, item: Any) -> None:
    with _lock:
        received[kind].append(item)


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _record("http", event)
    if event.get("queryStringParameters", {}).get("enqueue"):
        boto3.client("sqs").send_message(QueueUrl=os.environ["WORK_QUEUE_URL"], MessageBody=event.get("body", ""))
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-function": context.function_name},
        "body": json.dumps({"route": event["routeKey"], "params": event.get("pathParameters"),
                            "body": event.get("body"), "remaining_ms": context.get_remaining_time_in_millis()}),
    }


def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        _record("sqs", record)
        if record["body"].startswith("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
        else:
            boto3.client("dynamodb").put_item(
                TableName=os.environ["RESULTS_TABLE"], Item={"pk": {"S": record["body"]}},
            )
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
