"""infra/template.yaml is valid SAM, and the runner can provision all of it on the emulated cloud."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3

from localcloud.provision import provision
from localcloud.template import TEMPLATE_PATH, functions, load_template

BIN = Path(sys.executable).parent
ENV = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}


def test_cfn_lint_passes() -> None:
    result = subprocess.run([str(BIN / "cfn-lint"), str(TEMPLATE_PATH)], capture_output=True, text=True, env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_passes() -> None:
    result = subprocess.run([str(BIN / "sam"), "validate", "--lint", "-t", str(TEMPLATE_PATH), "--region", "us-east-1"],
                            capture_output=True, text=True, env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_every_function_has_a_unique_importable_handler_module() -> None:
    specs = functions(load_template())
    names = {spec.logical_id: spec.handler.rsplit(".", 1)[0] for spec in specs}
    assert len(set(names.values())) == len(names), names
    for spec in specs:
        module = spec.handler.rsplit(".", 1)[0]
        assert any((d / f"{module}.py").is_file() for d in spec.code_dirs), f"{spec.logical_id}: {module}.py missing"


def test_heavy_functions_are_images_and_receivers_are_small_zips() -> None:
    kinds = {spec.logical_id: spec.package_type for spec in functions(load_template())}
    assert kinds["ConversationWorkerFunction"] == "Image"
    assert kinds["VectorizeWorkerFunction"] == "Image"
    assert kinds["WebhookReceiverFunction"] == "Zip"
    assert kinds["ConfigApiFunction"] == "Zip"


def test_provisions_every_resource_on_the_emulated_cloud(moto_endpoint: str) -> None:
    name = "prov-" + uuid.uuid4().hex[:6]
    stack = provision(name, "us-east-1", moto_endpoint, {"AdminApiKey": "x" * 16})
    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    tables = {name for page in ddb.get_paginator("list_tables").paginate() for name in page["TableNames"]}
    for suffix in ("configs", "mappings", "idempotency", "history", "jobs"):
        assert f"{name}-{suffix}" in tables
    assert stack.attrs[("ConfigTable", "StreamArn")].startswith("arn:aws:dynamodb")
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint)
    attrs = sqs.get_queue_attributes(QueueUrl=stack.refs["ConversationsQueue"], AttributeNames=["All"])["Attributes"]
    assert attrs["FifoQueue"] == "true"
    assert stack.attrs[("ConversationsDLQ", "Arn")] in attrs["RedrivePolicy"]
    buses = boto3.client("events", endpoint_url=moto_endpoint).list_event_buses()["EventBuses"]
    assert f"{name}-events" in {b["Name"] for b in buses}
    website = boto3.client("s3", endpoint_url=moto_endpoint).get_bucket_website(Bucket=stack.refs["ViewerBucket"])
    assert website["IndexDocument"]["Suffix"] == "index.html"
    # Provisioning again (a restarted runner against a persistent endpoint) changes nothing and does not fail.
    again = provision(name, "us-east-1", moto_endpoint, {"AdminApiKey": "x" * 16})
    assert again.refs["ConfigTable"] == stack.refs["ConfigTable"]
