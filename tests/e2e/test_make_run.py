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

from devtools.doubles import OdooDouble
from localcloud.cloud import free_port

ROOT = Path(__file__).resolve().parents[2]


def _first_request_of_a_user(base: str, odoo: OdooDouble) -> None:
    """The reproduction of the start-up race: a tenant's PUTs the moment /health answers, while the demo seed's PUTs
    are in flight; the tenant must read back its own document and reach its own Odoo."""
    headers = {"X-Api-Key": "k" * 24}
    config = {"company": {"name": "ERP A"}, "enabled": True,
              "odoo": {"url": odoo.url, "db": odoo.db, "username": odoo.username}}
    stored = httpx.put(f"{base}/configs/erp_a/default/config", json=config, headers=headers, timeout=60)
    assert stored.status_code == 200, stored.text
    stored = httpx.put(f"{base}/configs/erp_a/default/credentials", json={"odoo_api_key": odoo.api_key},
                       headers=headers, timeout=60)
    assert stored.status_code == 200, stored.text
    read = httpx.get(f"{base}/configs/erp_a/default/config", headers=headers, timeout=30).json()["data"]
    assert read["company"] == {"name": "ERP A"}
    assert read["odoo"]["db"] == "loja" and read["odoo"]["username"] == "bot@loja.example"
    products = httpx.get(f"{base}/products", params={"q": "protetor"}, headers={**headers, "X-Tenant-Id": "erp_a"},
                         timeout=60)
    assert products.status_code == 200, products.text


@pytest.mark.e2e
def test_run_serves_health_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "PYTHONPATH": str(ROOT / "infra"), "ADMIN_API_KEY": "k" * 24,
           "QDRANT_PATH": str(tmp_path / "qdrant"), "CONFIG_FALLBACK_DIR": str(tmp_path / "fallback")}
    env.pop("AWS_ENDPOINT_URL", None)  # it must start its own emulated cloud
    proc = subprocess.Popen([sys.executable, "-m", "localcloud", "run"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    odoo = OdooDouble(db="loja", username="bot@loja.example", api_key="loja-key-0123456789").start()
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
            time.sleep(0.05)
        assert health is not None and health.status_code == 200
        _first_request_of_a_user(f"http://127.0.0.1:{port}", odoo)
        body = health.json()
        assert "WebhookReceiverFunction" in body["functions"]
        assert "POST /webhooks/chatwoot" in body["routes"]
        viewer = httpx.get(f"http://127.0.0.1:{port}/viewer/", timeout=5)
        assert viewer.status_code == 200
    finally:
        odoo.stop()
        proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, output
    assert "admin key" in output and "k" * 24 in output
    assert "stopped." in output
