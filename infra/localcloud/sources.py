"""Plays Lambda's event source mappings: SQS (batch size, partial batch failures), DynamoDB streams, EventBridge rules
and SNS subscriptions, each delivered into the real handler with the event shape Lambda gives it.

EventBridge and SNS deliveries go through an SQS queue the runner subscribes on the emulated cloud, so the routing
itself (rule patterns, topic fan-out) is the cloud's, not ours.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import time
import uuid
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

from localcloud.lambdas import LocalFunction
from localcloud.provision import Stack
from localcloud.template import FunctionSpec

try:  # the runner's own logging; handlers log through Powertools
    from chatwoot_ai.observability import logger as _logger
except Exception:  # pragma: no cover - the layer is always on sys.path in practice
    import logging

    _logger = logging.getLogger("localcloud")  # type: ignore[assignment]


class Source(threading.Thread):
    """A polling loop that stops when `stop_event` is set."""

    def __init__(self, name: str, function: LocalFunction, stack: Stack, stop_event: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.function = function
        self.stack = stack
        self.stop_event = stop_event
        self.delivered = 0
        self.failed = 0

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                if not self.poll_once():
                    self.stop_event.wait(0.05)
            except (EndpointConnectionError, ConnectionError):
                if self.stop_event.is_set():
                    return
                self.stop_event.wait(0.5)
            except Exception:
                if self.stop_event.is_set():
                    return
                _logger.exception("event source poll failed", extra={"source": self.name})
                self.stop_event.wait(0.5)

    def poll_once(self) -> bool:
        raise NotImplementedError


def _bill(function: Any, usage: dict[str, Any]) -> None:
    meter = getattr(function, "usage", None)
    if meter is not None:
        meter.add(usage)


def _lambda_message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in (attributes or {}).items():
        out[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType"),
        }
    return out


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """A ReceiveMessage message as a record of Lambda's SQS event."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": _lambda_message_attributes(message.get("MessageAttributes", {})),
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def binary_as_text(value: Any) -> Any:
    """DynamoDB JSON with its binary values (`B`, `BS`) as base64 text, the form Lambda's stream events (and the
    wire) carry; boto3 hands them over as bytes, which an event, being JSON, cannot hold."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: binary_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [binary_as_text(v) for v in value]
    return value


def dynamodb_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record as a record of Lambda's DynamoDB stream event."""
    out = dict(record)
    out.setdefault("eventSource", "aws:dynamodb")
    out["eventSourceARN"] = stream_arn
    out["awsRegion"] = region
    dynamodb = binary_as_text(dict(out.get("dynamodb", {})))
    created = dynamodb.get("ApproximateCreationDateTime")
    if created is not None and hasattr(created, "timestamp"):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    out["dynamodb"] = dynamodb
    return out


class SqsSource(Source):
    """Like Lambda's SQS poller: a batch per invocation; a raise keeps the whole batch; `batchItemFailures` keeps
    just those; everything else is deleted. Retries and the DLQ are the queue's redrive policy, as in AWS."""

    def __init__(self, name: str, function: LocalFunction, stack: Stack, stop_event: threading.Event,
                 queue_url: str, queue_arn: str, batch_size: int, report_failures: bool) -> None:
        super().__init__(name, function, stack, stop_event)
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.batch_size = max(1, min(batch_size, 10))
        self.report_failures = report_failures
        self.sqs = stack.client("sqs")

    def poll_once(self) -> bool:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return False
        # What Lambda's event source mapping bills to the account for a batch: the receive and the delete (its
        # empty long polls are a fixed cost, in docs/capacity.md).
        _bill(self.function, {"units": {"sqs_requests": 1 + math.ceil(len(messages) / 10)}})
        records = [sqs_record(m, self.queue_arn, self.stack.region) for m in messages]
        try:
            result = self.function.invoke({"Records": records})
        except Exception:
            self.failed += len(messages)
            _logger.exception("SQS batch failed; messages return after the visibility timeout",
                              extra={"function": self.function.spec.logical_id})
            return True
        failed_ids: set[str] = set()
        if self.report_failures and isinstance(result, dict):
            failed_ids = {f.get("itemIdentifier") for f in result.get("batchItemFailures", []) or []}
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        self.failed += len(messages) - len(done)
        self.delivered += len(done)
        for start in range(0, len(done), 10):
            chunk = done[start:start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        return True


class QueuedEventSource(Source):
    """EventBridge rule or SNS subscription delivered through a runner-owned queue. Each event is one async invoke,
    retried twice like Lambda's asynchronous invocation, then dropped with an error log."""

    MAX_ATTEMPTS = 3

    def __init__(self, name: str, function: LocalFunction, stack: Stack, stop_event: threading.Event,
                 queue_url: str, wrap: Any) -> None:
        super().__init__(name, function, stack, stop_event)
        self.queue_url = queue_url
        self.wrap = wrap
        self.sqs = stack.client("sqs")

    def poll_once(self) -> bool:
        response = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                            AttributeNames=["ApproximateReceiveCount"])
        messages = response.get("Messages", [])
        for message in messages:
            attempts = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            try:
                self.function.invoke(self.wrap(json.loads(message["Body"])))
                self.delivered += 1
            except Exception:
                self.failed += 1
                _logger.exception("async event delivery failed", extra={"function": self.function.spec.logical_id})
                if attempts < self.MAX_ATTEMPTS:
                    self.sqs.change_message_visibility(QueueUrl=self.queue_url,
                                                       ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=1)
                    continue
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return bool(messages)


class DynamoStreamSource(Source):
    """Reads every shard of a table's stream in order; a failed batch is retried from the failed record, up to
    MaximumRetryAttempts, as Lambda does with bisect off."""

    def __init__(self, name: str, function: LocalFunction, stack: Stack, stop_event: threading.Event,
                 stream_arn: str, batch_size: int, starting_position: str, max_retries: int) -> None:
        super().__init__(name, function, stack, stop_event)
        self.stream_arn = stream_arn
        self.batch_size = batch_size
        self.starting_position = starting_position
        self.max_retries = max_retries
        self.streams = stack.client("dynamodbstreams")
        self.iterators: dict[str, str | None] = {}
        self.pending: dict[str, list[dict[str, Any]]] = {}
        self.retries: dict[str, int] = {}

    def _discover(self) -> None:
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self.iterators:
                self.iterators[shard_id] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=self.starting_position,
                )["ShardIterator"]
                self.pending[shard_id] = []

    def poll_once(self) -> bool:
        self._discover()
        worked = False
        for shard_id, iterator in list(self.iterators.items()):
            if not self.pending[shard_id] and iterator:
                response = self.streams.get_records(ShardIterator=iterator, Limit=self.batch_size)
                self.iterators[shard_id] = response.get("NextShardIterator")
                self.pending[shard_id] = response.get("Records", [])
            if self.pending[shard_id]:
                worked = True
                self._deliver(shard_id)
        return worked

    def _deliver(self, shard_id: str) -> None:
        records = self.pending[shard_id][: self.batch_size]
        event = {"Records": [dynamodb_record(r, self.stream_arn, self.stack.region) for r in records]}
        try:
            result = self.function.invoke(event)
            failures = (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else []
        except Exception:
            _logger.exception("stream batch failed", extra={"function": self.function.spec.logical_id})
            failures = [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]
        if not failures:
            self.delivered += len(records)
            self.pending[shard_id] = self.pending[shard_id][len(records):]
            self.retries[shard_id] = 0
            return
        failed_seq = failures[0].get("itemIdentifier")
        index = next((i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] == failed_seq), 0)
        self.delivered += index
        self.retries[shard_id] = self.retries.get(shard_id, 0) + 1
        if self.retries[shard_id] > self.max_retries:
            _logger.error("stream records dropped after retries", extra={"count": len(records) - index})
            self.failed += len(records) - index
            self.pending[shard_id] = self.pending[shard_id][len(records):]
            self.retries[shard_id] = 0
        else:
            self.pending[shard_id] = self.pending[shard_id][index:]
            self.stop_event.wait(min(0.2 * self.retries[shard_id], 2.0))


def _eventbridge_event(body: dict[str, Any]) -> dict[str, Any]:
    return body


def _sns_event(topic_arn: str, subscription_arn: str) -> Any:
    def wrap(body: dict[str, Any]) -> dict[str, Any]:
        return {
            "Records": [{
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": body.get("Type", "Notification"),
                    "MessageId": body.get("MessageId", str(uuid.uuid4())),
                    "TopicArn": body.get("TopicArn", topic_arn),
                    "Subject": body.get("Subject"),
                    "Message": body.get("Message", ""),
                    "Timestamp": body.get("Timestamp", time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())),
                    "MessageAttributes": body.get("MessageAttributes", {}),
                    "SignatureVersion": "1",
                    "Signature": "local",
                    "SigningCertUrl": "",
                    "UnsubscribeUrl": "",
                },
            }]
        }

    return wrap


def _delivery_queue(stack: Stack, name: str) -> tuple[str, str]:
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName=name[:80])["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def build_sources(stack: Stack, spec: FunctionSpec, function: LocalFunction,
                  stop_event: threading.Event) -> list[Source]:
    """The pollers for one function's non-HTTP events."""
    sources: list[Source] = []
    resolver = stack.resolver
    for event_name, event in spec.events.items():
        kind = event.get("Type")
        props = resolver.resolve(event.get("Properties", {}))
        label = f"{spec.logical_id}.{event_name}"
        if kind == "HttpApi":
            continue
        if kind == "SQS":
            queue_arn = props["Queue"]
            queue_name = queue_arn.rsplit(":", 1)[-1]
            queue_url = stack.client("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"]
            report = "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or [])
            # FIFO queues keep order per message group; two pollers let different groups proceed in parallel.
            for index in range(2):
                sources.append(SqsSource(f"{label}#{index}", function, stack, stop_event, queue_url, queue_arn,
                                         int(props.get("BatchSize", 10)), report))
        elif kind == "DynamoDB":
            sources.append(DynamoStreamSource(label, function, stack, stop_event, props["Stream"],
                                              int(props.get("BatchSize", 100)),
                                              props.get("StartingPosition", "LATEST"),
                                              int(props.get("MaximumRetryAttempts", 3))))
        elif kind == "EventBridgeRule":
            url, arn = _delivery_queue(stack, f"{stack.name}-{spec.logical_id}-{event_name}-local")
            events = stack.client("events")
            bus = props.get("EventBusName", "default")
            rule = f"{stack.name}-{spec.logical_id}-{event_name}"[:64]
            events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(props["Pattern"]), State="ENABLED")
            events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "local-runner", "Arn": arn}])
            sources.append(QueuedEventSource(label, function, stack, stop_event, url, _eventbridge_event))
        elif kind == "Schedule":
            from localcloud.schedules import ScheduleSource

            sources.append(ScheduleSource(label, function, stack, stop_event, props))
        elif kind == "SNS":
            url, arn = _delivery_queue(stack, f"{stack.name}-{spec.logical_id}-{event_name}-local")
            topic = props["Topic"]
            try:
                sub = stack.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                                                    ReturnSubscriptionArn=True)["SubscriptionArn"]
            except ClientError:
                raise
            sources.append(QueuedEventSource(label, function, stack, stop_event, url, _sns_event(topic, sub)))
        else:
            raise ValueError(f"{label}: event type {kind} is not supported by the local runner")
    return sources
