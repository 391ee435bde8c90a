"""`make run`'s program: the stack comes up, answers /health once the demo tenant is loaded, and exits 0 on
SIGTERM."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.doubles import OdooDouble


def _first_request_of_a_user(base: str, odoo: OdooDouble) -> None:
    """The start-up race of the thread model: a tenant's PUTs the moment /health answers must read back the tenant's
    own document and reach its own Odoo (/health now also waits for the demo tenant's seed)."""
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
def test_run_serves_health_and_stops_cleanly_on_sigterm(tmp_path: Path, cli: Any) -> None:
    stack = cli.run(tmp_path / "local", ADMIN_API_KEY="k" * 24)  # it starts its own emulated cloud
    odoo = OdooDouble(db="loja", username="bot@loja.example", api_key="loja-key-0123456789").start()
    try:
        body = stack.wait_ready()
        assert body["demo"] == {"tenant": "sandra", "loaded": True}  # 200 only once the demo tenant is loaded
        _first_request_of_a_user(stack.url, odoo)
        assert "WebhookReceiverFunction" in body["functions"]
        assert "POST /webhooks/chatwoot" in body["routes"]
        viewer = httpx.get(f"{stack.url}/viewer/", timeout=5)
        assert viewer.status_code == 200
    finally:
        odoo.stop()
        status, output = stack.stop()
    assert status == 0, output
    assert "admin key" in output and "k" * 24 in output
    assert "stopped." in output


@pytest.mark.e2e
def test_make_run_exits_0_on_sigterm(tmp_path: Path, cli: Any) -> None:
    """GNU make kills itself with the SIGTERM it gets (143) unless the Makefile's plugin passes it on to the stack."""
    if shutil.which("cc") is None:
        pytest.skip("no C compiler for the Makefile's SIGTERM plugin: `make run` still stops the stack, but exits 143")
    venv = Path(sys.executable).parent.parent
    stack = cli.run(tmp_path / "local", command=["make", "-s", f"VENV={venv}", "run", "RUN_ARGS=--no-seed"])
    stack.wait_ready()
    status, output = stack.stop()
    assert status == 0, output
    assert "stopped." in output
