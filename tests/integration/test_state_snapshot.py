"""The emulated cloud's state snapshot (localcloud/persist.py) against moto's process: what `make run` saves survives a
restart of that process whole — items (binary ones too) without replaying them to the streams, queued and in-flight
messages in their order, and the KMS key that decrypts what was encrypted before."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.cloud import start_moto
from localcloud.motoserver import MotoProcess
from localcloud.persist import CloudSnapshot, Restored
from localcloud.provision import Stack, provision
from localcloud.template import load_template


@pytest.fixture
def stack(moto_endpoint: str) -> Stack:
    return _provision("snap-" + uuid.uuid4().hex[:6], moto_endpoint)


@pytest.fixture
def own_moto() -> Iterator[list[MotoProcess]]:
    """moto processes of the test's own (a restart is a new one); each stopped at the end."""
    started: list[MotoProcess] = []
    yield started
    for moto in started:
        moto.stop()


def _provision(name: str, endpoint_url: str) -> Stack:
    return provision(name, "us-east-1", endpoint_url, {"AdminApiKey": "k" * 20}, load_template())


def _stream_records(stack: Stack, table_id: str) -> int:
    streams = stack.client("dynamodbstreams")
    arn = stack.attrs[(table_id, "StreamArn")]
    total = 0
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        total += len(streams.get_records(ShardIterator=iterator)["Records"])
    return total


def test_a_snapshot_restores_items_messages_and_the_key_after_a_restart(own_moto: list[MotoProcess],
                                                                         tmp_path: Path) -> None:
    moto, endpoint_url = start_moto()
    own_moto.append(moto)
    stack = _provision("snap-" + uuid.uuid4().hex[:6], endpoint_url)
    ddb, sqs, kms = stack.client("dynamodb"), stack.client("sqs"), stack.client("kms")
    table = stack.refs["ConfigTable"]
    secret = kms.encrypt(KeyId=stack.refs["CredentialsKeyAlias"], Plaintext=b'{"token": "segredo"}')["CiphertextBlob"]
    item = {"pk": {"S": "TENANT#loja#default"}, "sk": {"S": "HEAD#credentials"}, "version": {"N": "3"},
            "secret": {"B": secret}, "tags": {"SS": ["ótimo", "não"]}, "data": {"M": {"B": {"S": "not binary"}}}}
    ddb.put_item(TableName=table, Item=item)
    conversations = stack.refs["ConversationsQueue"]
    for text in ("primeira", "segunda", "terceira"):
        sqs.send_message(QueueUrl=conversations, MessageBody=json.dumps({"content": text}), MessageGroupId="loja:1:9")
    vectorize = stack.refs["VectorizeQueue"]
    sqs.send_message(QueueUrl=vectorize, MessageBody="parte-0",
                     MessageAttributes={"kind": {"DataType": "String", "StringValue": "push"}})
    assert sqs.receive_message(QueueUrl=vectorize, VisibilityTimeout=600)["Messages"]  # in flight at the snapshot

    snapshot = CloudSnapshot(tmp_path / "state.json", stack.name, "us-east-1", endpoint_url)
    assert snapshot.save(stack)
    assert not snapshot.save(stack)  # nothing changed: nothing written
    saved = snapshot.load()
    assert saved is not None and oct((tmp_path / "state.json").stat().st_mode)[-3:] == "600"

    # A restart: a new moto process, empty; every item, every message and the key come from the file.
    moto.stop()
    moto, endpoint_url = start_moto()
    own_moto.append(moto)
    snapshot = CloudSnapshot(tmp_path / "state.json", stack.name, "us-east-1", endpoint_url)
    assert snapshot.restore_keys(saved) == 1
    again = _provision(stack.name, endpoint_url)
    assert again.refs["CredentialsKey"] == stack.refs["CredentialsKey"]  # found by its tags, not created anew
    streamed = _stream_records(again, "ConfigTable")
    restored = Restored()
    snapshot.restore_data(saved, again, restored)
    assert (restored.items, restored.messages) == (1, 4)

    ddb, sqs, kms = again.client("dynamodb"), again.client("sqs"), again.client("kms")
    conversations, vectorize = again.refs["ConversationsQueue"], again.refs["VectorizeQueue"]
    back = ddb.get_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})["Item"]
    assert back == item
    assert _stream_records(again, "ConfigTable") == streamed  # not announced again
    plain = kms.decrypt(CiphertextBlob=back["secret"]["B"])["Plaintext"]
    assert json.loads(plain) == {"token": "segredo"}
    bodies = []
    for _ in range(3):
        message = sqs.receive_message(QueueUrl=conversations, AttributeNames=["MessageGroupId"])["Messages"][0]
        assert message["Attributes"]["MessageGroupId"] == "loja:1:9"
        bodies.append(json.loads(message["Body"])["content"])
        sqs.delete_message(QueueUrl=conversations, ReceiptHandle=message["ReceiptHandle"])
    assert bodies == ["primeira", "segunda", "terceira"]
    part = sqs.receive_message(QueueUrl=vectorize, MessageAttributeNames=["All"])["Messages"][0]
    assert part["Body"] == "parte-0" and part["MessageAttributes"]["kind"]["StringValue"] == "push"


def test_a_state_it_cannot_read_is_refused_not_overwritten(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    CloudSnapshot(path, stack.name, "us-east-1", stack.endpoint_url).save(stack)
    with pytest.raises(RuntimeError, match="another-stack"):
        CloudSnapshot(path, "another-stack", "us-east-1", stack.endpoint_url).load()
    path.write_text('{"format": 1, "stack": ')  # cut short (not by us: our writes are atomic)
    with pytest.raises(RuntimeError, match="move it away"):
        CloudSnapshot(path, stack.name, "us-east-1", stack.endpoint_url).load()
    assert CloudSnapshot(tmp_path / "none.json", stack.name, "us-east-1", stack.endpoint_url).load() is None
