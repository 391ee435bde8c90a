"""A Lambda context object for calling a handler directly (tests, the bench), with what handlers and Powertools read."""

from __future__ import annotations

import time
import uuid


class FakeLambdaContext:
    def __init__(self, function_name: str = "TestFunction", timeout_s: float = 30.0, memory_mb: int = 512) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
