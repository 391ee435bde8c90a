"""The local stack's embedded Qdrant is a process of its own (localcloud.qdrant_share): every process reaches the same
data through it, it writes its folder through when the runner stops it, and it does not outlive a runner that dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localcloud.qdrant_share import ADDRESS_ENV, FACTORY, FACTORY_ENV, QdrantShare, remote_client

ROOT = Path(__file__).resolve().parents[2]


def _gone(pid: int, timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if Path(f"/proc/{pid}/status").exists() and "State:\tZ" in Path(f"/proc/{pid}/status").read_text():
            return True  # a zombie waiting for its parent: it has exited
        time.sleep(0.1)
    return False


def test_a_collection_written_through_the_share_is_on_disk_after_stop(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from qdrant_client import QdrantClient, models

    folder = tmp_path / "qdrant"
    share = QdrantShare.open(str(folder))
    assert QdrantShare.open(str(folder)) is share  # a second stack of this process: the same share
    share.close()
    assert share.process.poll() is None  # still the first one's
    try:
        assert share.pid != os.getpid()
        assert share.environment()[FACTORY_ENV] == FACTORY
        monkeypatch.setenv(ADDRESS_ENV, share.environment()[ADDRESS_ENV])
        client = remote_client()
        client.create_collection("produtos", vectors_config=models.VectorParams(size=2,
                                                                                 distance=models.Distance.COSINE))
        client.upsert("produtos", points=[models.PointStruct(id=1, vector=[1.0, 0.0], payload={"nome": "Tênis"})])
        assert [p.payload for p in client.scroll("produtos")[0]] == [{"nome": "Tênis"}]
    finally:
        share.close()
    assert share.process.returncode == 0  # it closed the embedded client and exited on its own
    embedded = QdrantClient(path=str(folder))  # the folder's lock is free and the point is there
    try:
        assert [p.payload for p in embedded.scroll("produtos")[0]] == [{"nome": "Tênis"}]
    finally:
        embedded.close()


def test_the_share_does_not_outlive_a_runner_that_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", "import os, time; from localcloud.qdrant_share import QdrantShare; "
                               "share = QdrantShare(os.environ['QDRANT_PATH']); print(share.pid, flush=True); "
                               "time.sleep(600)"],
        stdout=subprocess.PIPE, text=True, cwd=str(tmp_path),
        env={**os.environ, "QDRANT_PATH": str(tmp_path / "qdrant"),
             "PYTHONPATH": os.pathsep.join([str(ROOT / "infra"), str(ROOT / "layers" / "common")])})
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert not _gone(child, timeout_s=0.5)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert _gone(child), "the Qdrant process outlived its runner"
