"""Helpers for tests that run the local stack's commands as a developer does: `python -m localcloud run|invoke|reset`
(and make), each in a process of its own, on a data folder of the test's own (never the developer's .local/)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from localcloud.cloud import free_port

ROOT = Path(__file__).resolve().parents[2]
# What a developer's shell has; nothing of the variables this pytest process got from its own local stack
# (AWS_ENDPOINT_URL, QDRANT_PATH, ADMIN_API_KEY, table names...).
_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "CREWAI_DISABLE_TELEMETRY", "OTEL_SDK_DISABLED",
         "HF_HUB_OFFLINE", "PIP_DISABLE_PIP_VERSION_CHECK")


def shell_env(**extra: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in _KEPT if k in os.environ}
    env.update({"PYTHONPATH": str(ROOT / "infra"), "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "LOG_LEVEL": "INFO"})
    env.update(extra)
    return env


class Stack:
    """`python -m localcloud run` in the background; `stop()` sends SIGTERM and returns (exit status, output)."""

    def __init__(self, data_dir: Path, *args: str, port: int | None = None, command: list[str] | None = None,
                 **env: str) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = command or [sys.executable, "-m", "localcloud", "run", *args]
        self.process = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=shell_env(PORT=str(self.port), LOCALCLOUD_DATA_DIR=str(data_dir), **env))
        self.output = ""

    def wait_ready(self, timeout: float = 240) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stdout.read() if self.process.stdout else ""
            try:
                health = httpx.get(f"{self.url}/health", timeout=2)
                if health.status_code == 200:
                    return health.json()  # type: ignore[no-any-return]
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the stack on {self.url} was not ready within {timeout} s")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 120) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        self.output += out or ""
        return self.process.returncode, self.output


class Cli:
    """The commands, as a developer types them; stacks it started and left running are killed at the end."""

    def __init__(self) -> None:
        self.started: list[Stack] = []

    def run(self, data_dir: Path, *args: str, **kwargs: Any) -> Stack:
        stack = Stack(data_dir, *args, **kwargs)
        self.started.append(stack)
        return stack

    def invoke(self, data_dir: Path, function: str, event: Any, *args: str) -> tuple[int, Any, str]:
        """`python -m localcloud invoke <function> -e -`: (exit status, the JSON on stdout, stderr)."""
        text = event if isinstance(event, str) else json.dumps(event, ensure_ascii=False)
        done = subprocess.run([sys.executable, "-m", "localcloud", "invoke", function, "-e", "-",
                               "--data-dir", str(data_dir), *args], input=text, capture_output=True, text=True,
                              cwd=ROOT, env=shell_env(), timeout=300)
        result = json.loads(done.stdout) if done.stdout.strip() else None
        return done.returncode, result, done.stderr

    def generate(self, *args: str) -> dict[str, Any]:
        """`python -m localcloud generate-event ...` as JSON."""
        done = subprocess.run([sys.executable, "-m", "localcloud", "generate-event", *args], capture_output=True,
                              text=True, cwd=ROOT, env=shell_env(), timeout=60, check=True)
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    def command(self, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), capture_output=True, text=True, cwd=ROOT, env=shell_env(**env),
                              timeout=300)


@pytest.fixture
def cli() -> Iterator[Cli]:
    commands = Cli()
    yield commands
    for stack in commands.started:
        if stack.process.poll() is None:
            stack.process.kill()
            stack.process.communicate()
