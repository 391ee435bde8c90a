"""scripts/demo_message.py sends as Chatwoot does: a 429 from a busy receiver (a stack that has just started) is sent
again after its Retry-After, with the same delivery id, and a refusal is reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class Receiver:
    """Answers 429 (Retry-After 0) to the first `busy` posts, then `final`; keeps each post's delivery id."""

    def __init__(self, busy: int, final: int = 200) -> None:
        self.busy, self.final = busy, final
        self.deliveries: list[str | None] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner.deliveries.append(self.headers.get("X-Chatwoot-Delivery"))
                status = 429 if len(owner.deliveries) <= owner.busy else owner.final
                body = json.dumps({"status": "queued"} if status < 300 else {"error": {"code": "busy"}}).encode()
                self.send_response(status)
                self.send_header("Retry-After", "0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Path]:
    """A folder that looks like a running `make run` with the demo tenant: run.json names a live process whose
    command line says localcloud, as the runner's does."""
    runner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "localcloud"])
    credentials = tmp_path / "demo-credentials.json"
    credentials.write_text(json.dumps({"chatwoot_webhook_secret": "segredo-demo"}))
    (tmp_path / "run.json").write_text(json.dumps({"pid": runner.pid, "url": "http://127.0.0.1:9", "demo": {
        "account_id": 1, "inbox_id": 1, "credentials": str(credentials)}}))
    yield tmp_path
    runner.kill()
    runner.wait()


def _send(stack: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "demo_message.py"), "--url", url,
                           "--data-dir", str(stack), "Vocês têm protetor solar?"],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": ""})


def test_a_busy_receiver_gets_the_same_delivery_again_until_it_takes_it(stack: Path) -> None:
    receiver = Receiver(busy=2)
    sent = _send(stack, receiver.url)
    assert sent.returncode == 0, sent.stderr
    assert len(receiver.deliveries) == 3 and len(set(receiver.deliveries)) == 1
    assert sent.stderr.count("busy (429)") == 2


def test_a_receiver_that_stays_busy_is_reported_after_the_retries(stack: Path) -> None:
    receiver = Receiver(busy=100)
    sent = _send(stack, receiver.url)
    assert sent.returncode == 1
    assert len(receiver.deliveries) == 6  # the first post and BUSY_RETRIES more
    assert sent.stderr.strip().endswith('429 {"error": {"code": "busy"}}')
