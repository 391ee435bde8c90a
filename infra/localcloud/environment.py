"""One Lambda execution environment: a process that imports one function's handler and runs one invocation at a time.

Started by `localcloud.lambdas.Environment` as `python -m localcloud.environment <fd>`; `<fd>` is its end of a socket
pair. The protocol is length-prefixed JSON messages (multiprocessing's Connection framing):

    parent → child   {"function": {...}}     once, at start
    parent → child   {"event": <JSON>, "request_id": str, "timeout_s": float}   one per invocation
    child → parent   {"init_s": float}   once, when the first invocation's init phase (the import) is done
    child → parent   {"ok": <the handler's return value>} | {"error": {"type", "message", "trace"}}, with "usage"
                     (what the invocation would be billed for: localcloud.accounting)

The init phase has a limit of its own (lambdas.INIT_TIMEOUT_S) and does not count against the function's Timeout:
the handler's deadline (`get_remaining_time_in_millis`) starts when its init ends, as in Lambda.

Events and results cross as JSON, as they do in Lambda: a result JSON cannot carry fails the invocation
(Lambda's Runtime.MarshalError), not the process. The handler's stdout and stderr are the process's own, so its log
lines carry its own function name and nothing of another function's module state.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from localcloud import accounting


class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, function: dict[str, Any], request_id: str, deadline_s: float) -> None:
        self.function_name = function["name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = function["arn"]
        self.memory_limit_in_mb = function["memory"]
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function['name']}"
        self.log_stream_name = function["log_stream"]
        self._deadline = deadline_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def _error(exc: BaseException) -> dict[str, Any]:
    return {"error": {"type": type(exc).__name__, "message": str(exc), "trace": traceback.format_exc()}}


def _load(handler: str) -> Any:
    module_name, _, func_name = handler.rpartition(".")
    return getattr(importlib.import_module(module_name), func_name)


def serve(conn: Connection) -> None:
    start = json.loads(conn.recv_bytes())
    function = start["function"]
    handler: Any = None
    init_s: float | None = None
    while True:
        try:
            message = json.loads(conn.recv_bytes())
        except EOFError:
            return
        if message.get("stop"):
            return
        reply: dict[str, Any]
        started = time.perf_counter()
        if handler is None:  # the cold start happens on the first invocation, as Lambda's init phase
            try:
                accounting.install()
                handler = _load(function["handler"])
            except Exception as exc:
                reply = _error(exc)
                reply["error"]["type"] = "Runtime.ImportModuleError"
                conn.send_bytes(json.dumps(reply).encode())
                return  # Lambda runs the init again in a new environment
            init_s = time.perf_counter() - started
            conn.send_bytes(json.dumps({"init_s": init_s}).encode())
        # The function's timeout starts when its handler does, after the init phase, as in Lambda (an absolute deadline
        # set by the runner also counted this process's own start, seconds on a loaded machine).
        context = LambdaContext(function, message["request_id"], time.time() + message["timeout_s"])
        try:
            result = handler(message["event"], context)
            reply = {"ok": result}
        except Exception as exc:
            reply = _error(exc)
        # Lambda bills the invocation by the millisecond, and the init phase of a cold start with it.
        usage = {"billed_ms": math.ceil((time.perf_counter() - started) * 1000), **accounting.METER.take()}
        try:
            payload = json.dumps({**reply, "usage": usage})
        except (TypeError, ValueError) as exc:  # a result JSON cannot carry: Lambda's Runtime.MarshalError
            payload = json.dumps({**_error(exc), "usage": usage})
        init_s = None
        conn.send_bytes(payload.encode())
        sys.stdout.flush()
        sys.stderr.flush()


def main() -> None:
    conn = Connection(int(sys.argv[1]))
    try:
        serve(conn)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        # Native threads of the libraries (onnxruntime's pool) must not race the interpreter's teardown.
        os._exit(0)


if __name__ == "__main__":
    main()
