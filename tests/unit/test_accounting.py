"""The runner's per-invocation meter counts what AWS would bill (infra/localcloud/accounting.py)."""

from __future__ import annotations

import json

import boto3
import pytest

from localcloud.accounting import Meter, attribute_size, dynamodb_units, install, item_size, stop


def test_item_sizes_follow_dynamodb_rules() -> None:
    assert attribute_size({"S": "ação"}) == len("ação".encode())  # UTF-8 bytes, not characters
    assert attribute_size({"N": "12345"}) == 4  # ceil(5 digits / 2) + 1
    assert attribute_size({"BOOL": True}) == 1
    assert item_size({"pk": {"S": "abc"}, "n": {"N": "1"}}) == (2 + 3) + (1 + 2)
    nested = {"M": {"a": {"S": "x"}}}
    assert attribute_size(nested) == 3 + 1 + 1 + 1


@pytest.mark.parametrize(("operation", "request_body", "response", "units"), [
    ("PutItem", {"Item": {"pk": {"S": "x" * 1500}}}, {}, (0.0, 2.0)),  # 1,502 bytes: two started KB
    ("GetItem", {"ConsistentRead": True}, {"Item": {"pk": {"S": "x"}}}, (1.0, 0.0)),
    ("GetItem", {}, {"Item": {"pk": {"S": "x"}}}, (0.5, 0.0)),  # eventually consistent: half
    ("Query", {}, {"Items": [{"pk": {"S": "x" * 3000}}, {"pk": {"S": "y" * 3000}}]}, (1.0, 0.0)),  # 6 KB → 2 × ½
    ("TransactWriteItems", {"TransactItems": [{"Put": {"Item": {"pk": {"S": "a"}}}},
                                               {"ConditionCheck": {"Key": {"pk": {"S": "b"}}}}]}, {}, (0.0, 4.0)),
])
def test_request_units(operation: str, request_body: dict, response: dict, units: tuple[float, float]) -> None:
    assert dynamodb_units(operation, request_body, response) == units


def test_the_meter_sees_every_call_of_a_real_client(moto_endpoint: str) -> None:
    meter = Meter()
    install(meter)  # process-wide: this process's pollers (streams, SQS) are counted too, so look at DynamoDB only
    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    table = "acct-" + json.dumps(id(meter))[-6:]
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    meter.take()
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "body": {"S": "x" * 2000}})
    ddb.get_item(TableName=table, Key={"pk": {"S": "a"}}, ConsistentRead=True)
    try:
        taken = meter.take()
    finally:
        stop()
    calls = {k: v for k, v in taken["calls"].items() if k.startswith("dynamodb.")}
    assert calls == {"dynamodb.PutItem": 1, "dynamodb.GetItem": 1}
    assert (taken["units"]["dynamodb_wru"], taken["units"]["dynamodb_rru"]) == (2.0, 1.0)
    assert not [k for k in meter.take()["calls"] if k.startswith("dynamodb.")]  # take() starts again
