"""Creates the template's resources on the emulated cloud (moto, or LocalStack/AWS by endpoint), from the template.

Resources are created in the order their references allow; re-running against an existing stack is harmless.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.template import Resolver, load_template

LOCAL_ACCOUNT = "123456789012"
_CLIENTS_LOCK = threading.Lock()
# Tags that find a resource this runner created before (the KMS key has no name to find it by).
STACK_TAG = "localcloud:stack"
LOGICAL_ID_TAG = "localcloud:logical-id"

# Types the runner plays itself or that have no local meaning.
_SKIPPED = {
    "AWS::Serverless::Function",
    "AWS::Serverless::LayerVersion",
    "AWS::Serverless::HttpApi",
    "AWS::SNS::TopicPolicy",
    "AWS::S3::BucketPolicy",
    "AWS::CloudWatch::Alarm",
}


@dataclass
class Stack:
    """What was provisioned: logical id -> Ref value and (logical id, attribute) -> value."""

    name: str
    region: str
    endpoint_url: str | None
    params: dict[str, Any]
    refs: dict[str, Any] = field(default_factory=dict)
    attrs: dict[tuple[str, str], Any] = field(default_factory=dict)
    template: dict[str, Any] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _session: Any = field(default=None, repr=False)

    @property
    def resolver(self) -> Resolver:
        return Resolver(self.params, self.refs, self.attrs)

    def client(self, service: str) -> Any:
        """One client per service (a client costs ~50-150 ms to build; they are thread-safe once built)."""
        with _CLIENTS_LOCK:
            client = self._clients.get(service)
            if client is None:
                if self._session is None:
                    self._session = boto3.session.Session()  # one session: its loader reads the models once
                client = self._clients[service] = self._session.client(
                    service,  # type: ignore[call-overload]
                    region_name=self.region,
                    endpoint_url=self.endpoint_url,
                    config=Config(max_pool_connections=64),  # every poller of the runner shares it
                )
        return client


def pseudo_params(stack_name: str, region: str, account: str = LOCAL_ACCOUNT) -> dict[str, Any]:
    return {
        "AWS::StackName": stack_name,
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }


def template_params(template: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, spec in template.get("Parameters", {}).items():
        if name in overrides:
            params[name] = overrides[name]
        elif "Default" in spec:
            params[name] = spec["Default"]
        else:
            raise ValueError(f"template parameter {name} has no default: pass it to provision()")
    return params


def provision(
    stack_name: str,
    region: str,
    endpoint_url: str | None,
    parameters: dict[str, Any],
    template: dict[str, Any] | None = None,
) -> Stack:
    template = template or load_template()
    params = pseudo_params(stack_name, region) | template_params(template, parameters)
    stack = Stack(stack_name, region, endpoint_url, params, template=template)
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] in _SKIPPED:  # played by the runner: a placeholder identity for references
            stack.refs[logical_id] = f"local-{logical_id}"
    pending = {k: v for k, v in template["Resources"].items() if v["Type"] not in _SKIPPED}
    while pending:
        progressed = False
        for logical_id in list(pending):
            resource = pending[logical_id]
            try:
                props = stack.resolver.resolve(resource.get("Properties", {}))
            except KeyError:
                continue  # depends on something not created yet
            _create(stack, logical_id, resource["Type"], props)
            del pending[logical_id]
            progressed = True
        if not progressed:
            raise RuntimeError(f"cannot resolve references of: {', '.join(sorted(pending))}")
    return stack


def _create(stack: Stack, logical_id: str, kind: str, props: dict[str, Any]) -> None:
    creator = _CREATORS.get(kind)
    if creator is None:
        raise ValueError(f"{logical_id}: resource type {kind} is not supported by the local runner")
    creator(stack, logical_id, props)


def _table(stack: Stack, logical_id: str, props: dict[str, Any]) -> None:
    ddb = stack.client("dynamodb")
    name = props["TableName"]
    args: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "StreamSpecification" in props:
        args["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    if "GlobalSecondaryIndexes" in props:
        args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    try:
        ddb.create_table(**args)
        ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        try:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        except ClientError as exc:  # already set on a re-run
            if exc.response["Error"]["Code"] != "ValidationException":
                raise
    table = ddb.describe_table(TableName=name)["Table"]
    stack.refs[logical_id] = name
    stack.attrs[(logical_id, "Arn")] = table["TableArn"]
    if table.get("LatestStreamArn"):
        stack.attrs[(logical_id, "StreamArn")] = table["LatestStreamArn"]


def _queue(stack: Stack, logical_id: str, props: dict[str, Any]) -> None:
    sqs = stack.client("sqs")
    name = props["QueueName"]
    attributes: dict[str, str] = {}
    for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"):
        if key in props:
            attributes[key] = str(props[key])
    if props.get("FifoQueue"):
        attributes["FifoQueue"] = "true"
    if props.get("ContentBasedDeduplication"):
        attributes["ContentBasedDeduplication"] = "true"
    if "RedrivePolicy" in props:
        attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stack.refs[logical_id] = url
    stack.attrs[(logical_id, "Arn")] = arn
    stack.attrs[(logical_id, "QueueName")] = name
    stack.attrs[(logical_id, "QueueUrl")] = url


def _topic(stack: Stack, logical_id: str, props: dict[str, Any]) -> None:
    arn = stack.client("sns").create_topic(Name=props["TopicName"])["TopicArn"]
    stack.refs[logical_id] = arn
    stack.attrs[(logical_id, "TopicName")] = props["TopicName"]
    stack.attrs[(logical_id, "TopicArn")] = arn


def _event_bus(stack: Stack, logical_id: str, props: dict[str, Any]) -> None:
    events = stack.client("events")
    name = props["Name"]
    try:
        arn = events.create_event_bus(Name=name)["EventBusArn"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise
        arn = events.describe_event_bus(Name=name)["Arn"]
    stack.refs[logical_id] = name
    stack.attrs[(logical_id, "Arn")] = arn
    stack.attrs[(logical_id, "Name")] = name


def _rule(stack: Stack, logical_id: str, props: dict[str, Any]) -> None:
    events = stack.client("events")
    name = props.get("Name") or f"{stack.name}-{logical_id}"
    bus = props.get("EventBusName", "default")
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(props["EventPattern"]), State="ENABLED")
    # moto 5.2 cannot deliver an EventBridge rule to an SNS topic, and one such target makes PutEvents fail for the
    # whole bus; on the emulated cloud those targets (outside subscribers only) are left out.
    targets = [{"Id": t["Id"], "Arn": t["Arn"]} for t in props.get("Targets", [])
               if not (stack.endpoint_url and ":sns:" in str(t["Arn"]))]
    if targets:
        events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
    stack.refs[logical_id] = name


def _kms_key(stack: Stack, logical_id: str, props: dict[str, Any]) -> None:
    """Reuses the key this stack created before (found by its tags: a restored state, or a second run against
    LocalStack), else creates it. A new key every start would leave every stored ciphertext undecryptable."""
    kms = stack.client("kms")
    tags = [{"TagKey": STACK_TAG, "TagValue": stack.name}, {"TagKey": LOGICAL_ID_TAG, "TagValue": logical_id}]
    meta = _tagged_key(kms, tags)
    if meta is None:
        meta = kms.create_key(Description=props.get("Description", logical_id), Tags=tags)["KeyMetadata"]
    stack.refs[logical_id] = meta["KeyId"]
    stack.attrs[(logical_id, "Arn")] = meta["Arn"]
    stack.attrs[(logical_id, "KeyId")] = meta["KeyId"]


def _tagged_key(kms: Any, tags: list[dict[str, str]]) -> dict[str, Any] | None:
    wanted = {(t["TagKey"], t["TagValue"]) for t in tags}
    for page in kms.get_paginator("list_keys").paginate():
        for key in page["Keys"]:
            found = {(t["TagKey"], t["TagValue"]) for t in kms.list_resource_tags(KeyId=key["KeyId"])["Tags"]}
            if wanted <= found:
                meta: dict[str, Any] = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
                if meta.get("KeyState") == "Enabled":
                    return meta
    return None


def _kms_alias(stack: Stack, logical_id: str, props: dict[str, Any]) -> None:
    kms = stack.client("kms")
    try:
        kms.create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "AlreadyExistsException":
            raise
        kms.update_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
    stack.refs[logical_id] = props["AliasName"]


def _bucket(stack: Stack, logical_id: str, props: dict[str, Any]) -> None:
    s3 = stack.client("s3")
    name = props["BucketName"]
    args: dict[str, Any] = {"Bucket": name}
    if stack.region != "us-east-1":
        args["CreateBucketConfiguration"] = {"LocationConstraint": stack.region}
    try:
        s3.create_bucket(**args)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    website = props.get("WebsiteConfiguration")
    if website:
        config: dict[str, Any] = {"IndexDocument": {"Suffix": website["IndexDocument"]}}
        if "ErrorDocument" in website:
            config["ErrorDocument"] = {"Key": website["ErrorDocument"]}
        s3.put_bucket_website(Bucket=name, WebsiteConfiguration=config)
    stack.refs[logical_id] = name
    stack.attrs[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"
    stack.attrs[(logical_id, "WebsiteURL")] = f"http://{name}.s3-website-{stack.region}.amazonaws.com"


_CREATORS = {
    "AWS::DynamoDB::Table": _table,
    "AWS::SQS::Queue": _queue,
    "AWS::SNS::Topic": _topic,
    "AWS::Events::EventBus": _event_bus,
    "AWS::Events::Rule": _rule,
    "AWS::KMS::Key": _kms_key,
    "AWS::KMS::Alias": _kms_alias,
    "AWS::S3::Bucket": _bucket,
}
