"""Plays the Lambda service: imports a handler the way Lambda does ("module.function"), on first use (the cold start),
and invokes it with a context object shaped like Lambda's."""

from __future__ import annotations

import importlib
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from localcloud.provision import LOCAL_ACCOUNT
from localcloud.template import ROOT, FunctionSpec

# Every function folder and the layer, as Lambda would see them (/var/task and /opt/python).
CODE_PATHS = [
    ROOT / "layers" / "common",
    ROOT / "functions" / "webhook",
    ROOT / "functions" / "config",
    ROOT / "functions" / "mcp_odoo",
    ROOT / "functions" / "vectorize",
]


class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, spec: FunctionSpec, region: str) -> None:
        self.function_name = spec.logical_id
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT}:function:{spec.logical_id}"
        self.memory_limit_in_mb = spec.memory
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.logical_id}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + spec.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class LocalFunction:
    spec: FunctionSpec
    region: str
    _handler: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    cold_start_s: float | None = None
    invocations: int = 0
    errors: int = 0

    def load(self) -> Any:
        if self._handler is None:
            with self._lock:
                if self._handler is None:
                    started = time.perf_counter()
                    module_name, _, func_name = self.spec.handler.rpartition(".")
                    module = importlib.import_module(module_name)
                    self._handler = getattr(module, func_name)
                    self.cold_start_s = time.perf_counter() - started
        return self._handler

    def invoke(self, event: dict[str, Any]) -> Any:
        handler = self.load()
        self.invocations += 1
        try:
            return handler(event, LambdaContext(self.spec, self.region))
        except Exception:
            self.errors += 1
            raise
