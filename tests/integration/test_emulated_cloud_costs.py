"""The emulated cloud's cheaper calls (localcloud.moto_costs, localcloud.moto_http) answer as moto did.

What changed is how much work moto does per call (a FIFO send or receive no longer computes every queue attribute
nor builds datetimes to read the clock, a condition is parsed once for the same expression, names and values,
connections stay open); what a call answers must not. These tests drive
the session's moto over HTTP with boto3, as the functions do."""

from __future__ import annotations

import http.client
import json
import uuid
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture
def table(moto_endpoint: str) -> tuple[Any, str]:
    ddb = _client("dynamodb", moto_endpoint)
    name = "costs-" + uuid.uuid4().hex[:8]
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    return ddb, name


def _put(ddb: Any, table: str, record: str, now: int) -> dict[str, Any]:
    """The receiver's record Put: refused while an unexpired record exists."""
    return {"Put": {"TableName": table, "Item": {"id": {"S": record}, "expiration": {"N": str(now + 60)},
                                                  "job": {"S": f"pedido {record}"}},
                    "ConditionExpression": "attribute_not_exists(id) OR expiration < :now",
                    "ExpressionAttributeValues": {":now": {"N": str(now)}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}


def test_a_condition_kept_parsed_still_decides_by_each_calls_values_and_item(table: tuple[Any, str]) -> None:
    ddb, name = table
    ddb.transact_write_items(TransactItems=[_put(ddb, name, "mensagem-1", 1_000)])
    for _ in range(3):  # the same expression and values again: refused each time, the stored item handed back
        with pytest.raises(ClientError) as refused:
            ddb.transact_write_items(TransactItems=[_put(ddb, name, "mensagem-1", 1_000)])
        reasons = refused.value.response["CancellationReasons"]
        assert reasons[0]["Code"] == "ConditionalCheckFailed"
        assert reasons[0]["Item"]["job"] == {"S": "pedido mensagem-1"}
    # Same expression, other values: the record has expired by then (60 s later), so the Put is accepted.
    ddb.transact_write_items(TransactItems=[_put(ddb, name, "mensagem-1", 1_061)])
    assert ddb.get_item(TableName=name, Key={"id": {"S": "mensagem-1"}})["Item"]["expiration"] == {"N": "1121"}
    # A plain PutItem with the same condition text goes through the same parser.
    with pytest.raises(ClientError) as single:
        ddb.put_item(TableName=name, Item={"id": {"S": "mensagem-1"}},
                     ConditionExpression="attribute_not_exists(id) OR expiration < :now",
                     ExpressionAttributeValues={":now": {"N": "1100"}})
    assert single.value.response["Error"]["Code"] == "ConditionalCheckFailedException"


def test_an_expression_that_does_not_parse_fails_each_time_it_comes(table: tuple[Any, str],
                                                                    moto_endpoint: str) -> None:
    _, name = table
    # moto answers this one with a 500, which botocore would retry with back-off.
    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1",
                       config=Config(retries={"total_max_attempts": 1}))
    codes = []
    for _ in range(2):  # not kept: the second one is parsed (and refused) again
        with pytest.raises(ClientError) as broken:
            ddb.put_item(TableName=name, Item={"id": {"S": "x"}}, ConditionExpression="attribute_not_exists(id) OR")
        codes.append(broken.value.response["Error"]["Code"])
    assert codes[0] == codes[1]
    assert "Item" not in ddb.get_item(TableName=name, Key={"id": {"S": "x"}})


def test_fifo_sends_deduplicate_and_the_queue_still_reports_every_attribute(moto_endpoint: str) -> None:
    sqs = _client("sqs", moto_endpoint)
    url = sqs.create_queue(QueueName=f"custos-{uuid.uuid4().hex[:6]}.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"]
    for _ in range(2):  # the same deduplication id twice: one message
        sqs.send_message(QueueUrl=url, MessageBody="oi", MessageGroupId="conversa-1", MessageDeduplicationId="m-1")
    sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "MessageBody": f"mensagem {i}", "MessageGroupId": "conversa-2",
         "MessageDeduplicationId": f"b-{i}"} for i in range(3)])
    with pytest.raises(ClientError) as no_id:  # no deduplication id and no content-based deduplication
        sqs.send_message(QueueUrl=url, MessageBody="oi", MessageGroupId="conversa-1")
    assert no_id.value.response["Error"]["Code"] in ("InvalidParameterValue", "MissingParameter")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "4"
    assert attributes["FifoQueue"] == "true" and attributes["ContentBasedDeduplication"] == "false"

    by_content = sqs.create_queue(QueueName=f"conteudo-{uuid.uuid4().hex[:6]}.fifo",
                                  Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=by_content, MessageBody="mesmo texto", MessageGroupId="g")
    sqs.send_message(QueueUrl=by_content, MessageBody="outro texto", MessageGroupId="g")
    counts = sqs.get_queue_attributes(QueueUrl=by_content, AttributeNames=["ApproximateNumberOfMessages"])
    assert counts["Attributes"]["ApproximateNumberOfMessages"] == "2"


def test_fifo_receives_keep_group_order_and_in_flight_groups_and_the_counts(moto_endpoint: str) -> None:
    sqs = _client("sqs", moto_endpoint)
    url = sqs.create_queue(QueueName=f"grupos-{uuid.uuid4().hex[:6]}.fifo",
                           Attributes={"FifoQueue": "true", "VisibilityTimeout": "60"})["QueueUrl"]
    for group, text in (("conversa-a", "a1"), ("conversa-a", "a2"), ("conversa-b", "b1"), ("conversa-a", "a3")):
        sqs.send_message(QueueUrl=url, MessageBody=text, MessageGroupId=group, MessageDeduplicationId=text)
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in first] == ["a1", "a2", "b1", "a3"]
    sqs.send_message(QueueUrl=url, MessageBody="a4", MessageGroupId="conversa-a", MessageDeduplicationId="a4")
    sqs.send_message(QueueUrl=url, MessageBody="c1", MessageGroupId="conversa-c", MessageDeduplicationId="c1")
    # conversa-a has messages in flight: its next one waits; another group's does not.
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["c1"]
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                     "ApproximateNumberOfMessagesNotVisible"])
    assert counts["Attributes"] == {"ApproximateNumberOfMessages": "1", "ApproximateNumberOfMessagesNotVisible": "5"}
    sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                    for i, m in enumerate(first)])
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["a4"]


def _raw(conn: http.client.HTTPConnection, body: bytes, headers: dict[str, str]) -> http.client.HTTPResponse:
    conn.request("POST", "/", body=body, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, "
                         "SignedHeaders=host, Signature=0", **headers})
    return conn.getresponse()


def test_a_connection_serves_one_request_after_another_and_a_chunked_body_closes_it(moto_endpoint: str) -> None:
    parts = urlsplit(moto_endpoint)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    for _ in range(3):
        response = _raw(conn, b"{}", {})
        assert response.status == 200 and "TableNames" in json.loads(response.read())
        assert not response.will_close  # kept open, as AWS endpoints keep the SDK's connections
    # A body without a length (chunked): answered, then the connection is closed (its end was the stream's end).
    conn.putrequest("POST", "/")
    for header, value in {"Content-Type": "application/x-amz-json-1.0", "Transfer-Encoding": "chunked",
                          "X-Amz-Target": "DynamoDB_20120810.ListTables",
                          "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/"
                                           "aws4_request, SignedHeaders=host, Signature=0"}.items():
        conn.putheader(header, value)
    conn.endheaders()
    conn.send(b"2\r\n{}\r\n0\r\n\r\n")
    chunked = conn.getresponse()
    assert chunked.status == 200 and "TableNames" in json.loads(chunked.read())
    assert chunked.will_close
    conn.close()
