"""What benchmarks share: one emulated cloud and one local stack for the whole run, started on first use."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from typing import Any

from devtools.offline_env import set_offline_defaults

set_offline_defaults(log_level="ERROR")
# boto3's pool holds 10 connections; the load benchmark's 16 threads make urllib3 warn on every extra one.
logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)


class BenchContext:
    def __init__(self) -> None:
        self._cloud: Any = None
        self._moto: Any = None
        self.endpoint_url: str | None = None
        self.admin_key = secrets.token_urlsafe(24)
        self.tmp = tempfile.TemporaryDirectory(prefix="bench-")

    def __enter__(self) -> BenchContext:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._cloud is not None:
            self._cloud.stop()
        if self._moto is not None:
            self._moto.stop()
        self.tmp.cleanup()

    def moto(self) -> str:
        if self.endpoint_url is None:
            from localcloud.cloud import start_moto

            self._moto, self.endpoint_url = start_moto()
            os.environ["AWS_ENDPOINT_URL"] = self.endpoint_url
        return self.endpoint_url

    @property
    def cloud(self) -> Any:
        """The whole local stack (infra/template.yaml) with event sources running."""
        if self._cloud is None:
            from localcloud.cloud import LocalCloud

            self._cloud = LocalCloud(endpoint_url=self.moto(), admin_key=self.admin_key,
                                     data_dir=self.tmp.name, stack_name="bench")
            self._cloud.start()
        return self._cloud


def settle(cloud: Any, quiet_s: float = 1.5, timeout_s: float = 60) -> None:
    """Waits until no function of the stack has been invoked for `quiet_s` (event sources, config events, cold starts
    and retries all done), so a figure measures its own work and not the stack settling beside it."""
    import time

    deadline = time.monotonic() + timeout_s
    last = sum(f.usage.invocations for f in cloud.functions.values())
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = sum(f.usage.invocations for f in cloud.functions.values())
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return
