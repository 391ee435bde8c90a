"""`make run`'s program: the stack comes up, answers /health, and exits 0 on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from localcloud.cloud import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_run_serves_health_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "PYTHONPATH": str(ROOT / "infra"), "ADMIN_API_KEY": "k" * 24,
           "QDRANT_PATH": str(tmp_path / "qdrant"), "CONFIG_FALLBACK_DIR": str(tmp_path / "fallback")}
    env.pop("AWS_ENDPOINT_URL", None)  # it must start its own emulated cloud
    proc = subprocess.Popen([sys.executable, "-m", "localcloud", "run"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.2)
        assert health is not None and health.status_code == 200
        body = health.json()
        assert "WebhookReceiverFunction" in body["functions"]
        assert "POST /webhooks/chatwoot" in body["routes"]
        viewer = httpx.get(f"http://127.0.0.1:{port}/viewer/", timeout=5)
        assert viewer.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, output
    assert "admin key" in output and "k" * 24 in output
    assert "stopped." in output
