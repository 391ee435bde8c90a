"""The emulated cloud's moto runs in a process of its own (localcloud/motoserver.py): a stack's own moto is another
pid, shown apart in /health's memory report; its state is saved by that process and restored into the next one; and
a parent that dies, even by `kill -9`, leaves no moto behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from localcloud.cloud import LocalCloud, dynamodb_served, moto_pid, start_moto
from localcloud.memory import status_kb
from localcloud.motoserver import INFRA

TEMPLATE = Path(__file__).resolve().parents[1] / "support" / "runner_fixture" / "template.yaml"


def _command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _gone(pid: int, timeout_s: float = 30.0) -> bool:
    """The process ended (a zombie no one reaped yet has no memory left either)."""
    deadline = time.monotonic() + timeout_s
    while status_kb(pid) is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _small_cloud(data_dir: Path, stack_name: str) -> LocalCloud:
    return LocalCloud(template_path=TEMPLATE, admin_key="k" * 20, stack_name=stack_name, data_dir=data_dir,
                      persist=True, env={"RECEIVED_DIR": str(data_dir / "received")})


@pytest.fixture
def own_endpoint() -> Iterator[None]:
    """A stack with its own moto points this process's AWS variables at it; the session's come back afterwards."""
    keys = ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION")
    saved = {key: os.environ.get(key) for key in keys}
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.mark.usefixtures("own_endpoint")
def test_a_stacks_own_moto_is_another_process_whose_state_survives_a_restart(tmp_path: Path) -> None:
    stack_name = "mp-" + uuid.uuid4().hex[:6]
    cloud = _small_cloud(tmp_path, stack_name).start()
    try:
        assert cloud.moto is not None and cloud.moto_pid == cloud.moto.pid != os.getpid()
        assert "localcloud.motoserver" in _command_line(cloud.moto_pid)
        memory = httpx.get(cloud.url + "/health", timeout=30).json()["memory"]
        assert memory["runner"]["pid"] == os.getpid()
        assert memory["moto"]["pid"] == cloud.moto_pid and memory["moto"]["rss_mb"] > 0
        assert memory["total_rss_mb"] >= round(memory["runner"]["rss_mb"] + memory["moto"]["rss_mb"], 1)
        assert cloud.stack is not None
        table = cloud.stack.refs["ResultsTable"]
        ddb = boto3.client("dynamodb", endpoint_url=cloud.endpoint_url, region_name="us-east-1")
        served = dynamodb_served(cloud.endpoint_url)
        ddb.put_item(TableName=table, Item={"pk": {"S": "guardado"}, "texto": {"S": "sobrevive ao reinício"}})
        assert dynamodb_served(cloud.endpoint_url) == served + 1  # counted where it is served
        moto = cloud.moto
    finally:
        cloud.stop()  # saves the state through moto's process, then ends it
    assert moto.process.returncode is not None and _gone(moto.pid)

    again = _small_cloud(tmp_path, stack_name).start()
    try:
        assert again.moto_pid not in (None, moto.pid)
        assert again.restored is not None and again.restored.found and again.restored.items == 1
        ddb = boto3.client("dynamodb", endpoint_url=again.endpoint_url, region_name="us-east-1")
        item = ddb.get_item(TableName=table, Key={"pk": {"S": "guardado"}})["Item"]
        assert item["texto"] == {"S": "sobrevive ao reinício"}
    finally:
        again.stop()


def test_a_parent_killed_by_sigkill_leaves_no_moto_behind() -> None:
    """What `make run` does (cloud.start_moto), in a process this test kills the way a `kill -9` of the runner does."""
    parent = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from localcloud.cloud import start_moto\n"
         "moto, url = start_moto()\n"
         "print(moto.pid, flush=True)\n"
         "time.sleep(600)\n"],
        env={**os.environ, "PYTHONPATH": str(INFRA)}, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        moto_pid = int(parent.stdout.readline())
        assert moto_pid != parent.pid and "localcloud.motoserver" in _command_line(moto_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        assert _gone(moto_pid), f"moto's process {moto_pid} outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_localcloud_moto_thread_serves_the_same_moto_from_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The way before issue 19, kept to compare the two: same patches, same control routes, no pid of its own."""
    monkeypatch.setenv("LOCALCLOUD_MOTO", "thread")
    moto, url = start_moto()
    try:
        assert moto.pid == os.getpid() and moto_pid(url) is None  # nothing to show apart in /health
        ddb = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1")
        served = dynamodb_served(url)
        assert ddb.list_tables()["TableNames"] == []
        assert dynamodb_served(url) == served + 1
    finally:
        moto.stop()
