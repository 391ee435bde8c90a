"""The emulated cloud's TransactWriteItems (localcloud.cloud._keep_tables_on_rollback): all or nothing, in place.

moto backs a transaction up by copying whole tables; the runner replaces that with an undo log of the items the
transaction names. A refused transaction must leave every item and the table's stream as they were, and a stream
reader that started before it must still receive later writes."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def table(moto_endpoint: str) -> Any:
    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = "tx-" + uuid.uuid4().hex[:8]
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams", endpoint_url=moto_endpoint, region_name="us-east-1")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return ddb, name, streams, [iterator["ShardIterator"]]


def _records(streams: Any, iterator: list[str]) -> list[str]:
    response = streams.get_records(ShardIterator=iterator[0])
    iterator[0] = response["NextShardIterator"]
    return [r["eventName"] + ":" + r["dynamodb"]["Keys"]["sk"]["S"] for r in response["Records"]]


def _item(ddb: Any, name: str, sk: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = ddb.get_item(TableName=name, Key={"pk": {"S": "conversa"}, "sk": {"S": sk}}).get(
        "Item")
    return item


def test_a_refused_transaction_changes_no_item_and_no_stream_record(table: Any) -> None:
    ddb, name, streams, iterator = table
    ddb.put_item(TableName=name, Item={"pk": {"S": "conversa"}, "sk": {"S": "a"}, "texto": {"S": "original"}})
    assert _records(streams, iterator) == ["INSERT:a"]

    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": name, "Item": {"pk": {"S": "conversa"}, "sk": {"S": "b"}, "texto": {"S": "nova"}}}},
            {"Update": {"TableName": name, "Key": {"pk": {"S": "conversa"}, "sk": {"S": "a"}},
                        "UpdateExpression": "SET texto = :t", "ExpressionAttributeValues": {":t": {"S": "mudou"}}}},
            {"Put": {"TableName": name, "Item": {"pk": {"S": "conversa"}, "sk": {"S": "a2"}},
                     "ConditionExpression": "attribute_exists(pk)"}},  # absent: the whole transaction is refused
        ])
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert _item(ddb, name, "b") is None
    assert _item(ddb, name, "a2") is None
    assert _item(ddb, name, "a") == {"pk": {"S": "conversa"}, "sk": {"S": "a"}, "texto": {"S": "original"}}
    assert _records(streams, iterator) == []  # nothing of the refused transaction reached the stream

    # The same reader still gets what comes after (the stream was not swapped for a copy).
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": name, "Item": {"pk": {"S": "conversa"}, "sk": {"S": "c"}},
                 "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {"TableName": name, "Key": {"pk": {"S": "conversa"}, "sk": {"S": "a"}},
                    "UpdateExpression": "SET texto = :t", "ExpressionAttributeValues": {":t": {"S": "mudou"}}}},
    ])
    assert _item(ddb, name, "a")["texto"] == {"S": "mudou"}  # type: ignore[index]
    assert _records(streams, iterator) == ["INSERT:c", "MODIFY:a"]
