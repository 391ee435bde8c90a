"""Plays the Lambda service with Lambda's concurrency model.

An execution environment is a process of its own (`localcloud.environment`) that imports one function's handler on
its first invocation (the cold start) and then runs one invocation at a time. When invocations overlap, the function
gets more environments, up to its limit (`ReservedConcurrentExecutions` in the template, else
`LOCALCLOUD_MAX_ENVIRONMENTS`, default 4); beyond it they queue. So no two invocations ever share a module's state,
and no function sees another's: a Powertools resolver's `current_event`, a logger's keys, an idempotency context or a
memoised client belong to one environment, as they do in AWS. An environment whose process dies or runs past the
function's timeout fails that invocation and is replaced by a new one (a new cold start) on the next.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from localcloud.memory import process
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
INFRA = ROOT / "infra"
DEFAULT_MAX_ENVIRONMENTS = 4
# Lambda limits an on-demand function's init phase to 10 s; here imports share two cores with everything else (a
# test suite, moto, other functions' cold starts), so the local limit is LOCALCLOUD_INIT_TIMEOUT_S, default 60 s.
INIT_TIMEOUT_S = float(os.environ.get("LOCALCLOUD_INIT_TIMEOUT_S", "60"))
# In AWS every execution environment has CPU of its own: a busy conversation worker never slows the webhook receiver.
# Here all of them share this machine's cores, so the environments of functions no HTTP route reaches (queue, stream
# and schedule consumers: the crew, the embedding) run at a lower CPU priority (nice), and the ones that answer an
# HTTP request get the CPU when they need it. LOCALCLOUD_BACKGROUND_NICE=0 gives every function the same priority.
BACKGROUND_NICE = int(os.environ.get("LOCALCLOUD_BACKGROUND_NICE", "10"))


class InvocationError(Exception):
    """The invocation failed: the handler raised, the environment died, or the function timed out."""

    def __init__(self, function: str, kind: str, message: str, trace: str = "") -> None:
        super().__init__(f"{function}: {kind}: {message}")
        self.function = function
        self.kind = kind
        self.trace = trace


class Environment:
    """One execution environment: a process, its socket, and whether it is running an invocation."""

    _numbers = itertools.count(1)

    def __init__(self, function: LocalFunction) -> None:
        self.function = function
        self.number = next(self._numbers)
        spec = function.spec
        parent, child = socket.socketpair()
        env = {
            **os.environ,
            **function.environment(),
            "PYTHONPATH": os.pathsep.join(str(p) for p in [*spec.code_dirs, *CODE_PATHS, INFRA]),
            "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.logical_id}",
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
            "_HANDLER": spec.handler,
            "PYTHONUNBUFFERED": "1",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localcloud.environment", str(child.fileno())],
            pass_fds=[child.fileno()], env=env, cwd=str(spec.code_dirs[0] if spec.code_dirs else ROOT),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        child.close()
        if BACKGROUND_NICE and not spec.serves_http:
            with contextlib.suppress(OSError):  # lowering a priority is always allowed; a process gone is its own error
                os.setpriority(os.PRIO_PROCESS, self.process.pid, BACKGROUND_NICE)
        self._pump = threading.Thread(target=self._pump_logs, name=f"logs-{self.log_stream}", daemon=True)
        self._pump.start()
        self.conn = Connection(parent.detach())
        self.conn.send_bytes(json.dumps({"function": {
            "name": spec.logical_id, "handler": spec.handler, "memory": spec.memory,
            "arn": f"arn:aws:lambda:{function.region}:{LOCAL_ACCOUNT}:function:{spec.logical_id}",
            "log_stream": self.log_stream,
        }}).encode())
        self.invocations = 0

    def _pump_logs(self) -> None:
        """Every line the process writes goes to the function's log sink (CloudWatch Logs' part)."""
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.function.log(raw.decode("utf-8", "replace").rstrip("\n"))

    @property
    def log_stream(self) -> str:
        return f"local/{self.function.spec.logical_id}/{self.number}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def invoke(self, event: Any, timeout_s: float) -> Any:
        """The handler's result; InvocationError when it raised, the process died or the timeout passed (the
        process is then killed, as Lambda ends a timed-out environment)."""
        name = self.function.spec.logical_id
        request_id = str(uuid.uuid4())
        try:
            payload = json.dumps({"event": event, "request_id": request_id, "timeout_s": timeout_s})
        except (TypeError, ValueError) as exc:
            raise InvocationError(name, "InvalidRequestContentException", str(exc)) from exc
        try:
            self.conn.send_bytes(payload.encode())
            reply = self._reply(name, timeout_s)
        except (EOFError, OSError) as exc:
            self.kill()
            code = self.process.poll()
            raise InvocationError(name, "Runtime.ExitError", f"the environment's process exited ({code})") from exc
        self.invocations += 1
        self.function.usage.add(reply.get("usage") or {})
        if "error" in reply:
            error = reply["error"]
            if error["type"] == "Runtime.ImportModuleError":
                self.kill()
            raise InvocationError(name, error["type"], error["message"], error.get("trace", ""))
        return reply["ok"]

    def _reply(self, name: str, timeout_s: float) -> dict[str, Any]:
        """The invocation's answer. A cold environment first reports its init phase (the handler's import), which
        has a limit of its own (INIT_TIMEOUT_S) and does not count against the function's Timeout, as in Lambda."""
        if self.invocations == 0:
            if not self.conn.poll(INIT_TIMEOUT_S + 0.5):
                self.kill()
                raise InvocationError(name, "Runtime.InitTimeout", f"init did not finish in {INIT_TIMEOUT_S:.0f} s")
            first: dict[str, Any] = json.loads(self.conn.recv_bytes())
            if "init_s" not in first:
                return first  # the import failed: that is the answer
            self.function.cold_starts.append(first["init_s"])
            self.function.platform_log({"message": "execution environment started", "log_stream": self.log_stream,
                                        "pid": self.pid, "init_s": round(first["init_s"], 3),
                                        **{k: v for k, v in process(self.pid).items() if k.endswith("_mb")}})
        if not self.conn.poll(timeout_s + 0.5):
            self.kill()
            raise InvocationError(name, "Task timed out", f"after {timeout_s:.2f} seconds")
        reply: dict[str, Any] = json.loads(self.conn.recv_bytes())
        return reply

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.conn.close()
        self._pump.join(timeout=2)  # the process's last lines reach the log sinks before the environment is gone

    def stop(self, timeout_s: float = 2.0) -> None:
        if self.process.poll() is None:
            try:
                self.conn.send_bytes(b'{"stop": true}')
                self.process.wait(timeout=timeout_s)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()


class Usage:
    """What a function's invocations would be billed for, summed (`localcloud.accounting` counts it per call)."""

    def __init__(self, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.invocations = 0
            self.billed_ms = 0
            self.calls: Counter[str] = Counter()
            self.units: defaultdict[str, float] = defaultdict(float)

    def add(self, usage: dict[str, Any]) -> None:
        with self._lock:
            if "billed_ms" in usage:
                self.invocations += 1
                self.billed_ms += int(usage["billed_ms"])
            self.calls.update(usage.get("calls") or {})
            for key, value in (usage.get("units") or {}).items():
                self.units[key] += value

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"invocations": self.invocations, "billed_ms": self.billed_ms,
                    "gb_s": round(self.billed_ms / 1000 * self.memory_mb / 1024, 6),
                    "calls": dict(self.calls), "units": {k: round(v, 3) for k, v in self.units.items()}}


class LocalFunction:
    """A function of the template: its environments, and the count of invocations, errors and cold starts."""

    def __init__(self, spec: FunctionSpec, region: str, environment: dict[str, str] | None = None,
                 max_environments: int | None = None) -> None:
        self.spec = spec
        self.region = region
        self._environment = dict(environment or {})
        limit = max_environments or int(os.environ.get("LOCALCLOUD_MAX_ENVIRONMENTS", DEFAULT_MAX_ENVIRONMENTS))
        self.max_environments = max(1, min(limit, spec.reserved_concurrency or limit))
        self._idle: list[Environment] = []
        self._all: list[Environment] = []
        self._cond = threading.Condition()
        self._closed = False
        self._generation = 0  # bumped by update_environment: older environments retire
        self.cold_starts: list[float] = []
        self.log_sinks: list[Callable[[str, str], object]] = []  # (function, line): the runner's, and tests'
        self.usage = Usage(spec.memory)
        self.invocations = 0
        self.errors = 0

    def environment(self) -> dict[str, str]:
        return dict(self._environment)

    def log(self, line: str) -> None:
        self.usage.add({"units": {"log_bytes": len(line.encode()) + 1}})
        for sink in list(self.log_sinks):
            sink(self.spec.logical_id, line)

    def platform_log(self, record: dict[str, Any]) -> None:
        """A line of the runner's own about this function (Lambda's INIT/REPORT lines): to the log sinks, unbilled."""
        line = json.dumps({"level": "INFO", "function_name": self.spec.logical_id, "source": "localcloud", **record})
        for sink in list(self.log_sinks):
            sink(self.spec.logical_id, line)

    def update_environment(self, changes: dict[str, str | None]) -> None:
        """Like UpdateFunctionConfiguration: later invocations run in new environments with these variables
        (None removes one); environments running now finish their invocation first."""
        with self._cond:
            for key, value in changes.items():
                if value is None:
                    self._environment.pop(key, None)
                else:
                    self._environment[key] = value
            retired, self._idle = self._idle, []
            for env in retired:
                self._all.remove(env)
            self._generation += 1
            self._cond.notify_all()
        for env in retired:
            env.stop()

    @property
    def cold_start_s(self) -> float | None:
        """The first environment's cold start (its handler import), once it has run."""
        return self.cold_starts[0] if self.cold_starts else None

    @property
    def environments(self) -> list[Environment]:
        with self._cond:
            return list(self._all)

    def _acquire(self) -> tuple[Environment, int]:
        with self._cond:
            while True:
                if self._closed:
                    raise InvocationError(self.spec.logical_id, "ServiceException", "the local stack is stopping")
                while self._idle:
                    env = self._idle.pop()
                    if env.alive:
                        return env, self._generation
                    self._all.remove(env)
                if len(self._all) < self.max_environments:
                    env = Environment(self)
                    self._all.append(env)
                    return env, self._generation
                self._cond.wait()  # every environment is busy: queue, as Lambda throttles past its concurrency

    def _release(self, env: Environment, generation: int) -> None:
        with self._cond:
            current = env.alive and not self._closed and generation == self._generation
            if current:
                self._idle.append(env)
            elif env in self._all:
                self._all.remove(env)
            self._cond.notify()
        if not current:
            env.stop()

    def invoke(self, event: Any) -> Any:
        """Runs one invocation in a free environment; raises InvocationError as Lambda reports a failed one."""
        env, generation = self._acquire()
        self.invocations += 1
        try:
            return env.invoke(event, float(self.spec.timeout))
        except InvocationError as exc:
            self.errors += 1
            if exc.kind.startswith(("Runtime.", "Task timed out")):  # the handler's own errors it logs itself
                self.platform_log({"level": "ERROR", "message": f"{exc.kind}: {exc}", "log_stream": env.log_stream,
                                   "pid": env.pid})
            raise
        finally:
            self._release(env, generation)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            envs, self._all, self._idle = list(self._all), [], []
            self._cond.notify_all()
        for env in envs:
            env.stop()



class InProcessFunction:
    """A function's handler called in this process, for tests that inject a fault into its module state (a dying
    ledger, a dead table): same handler, same event, same context shape, no isolation. `LocalCloud.in_process()`."""

    def __init__(self, spec: FunctionSpec, region: str) -> None:
        self.spec = spec
        self.region = region

    def invoke(self, event: Any) -> Any:
        from localcloud.environment import LambdaContext

        module_name, _, func_name = self.spec.handler.rpartition(".")
        handler = getattr(importlib.import_module(module_name), func_name)
        function = {"name": self.spec.logical_id, "memory": self.spec.memory, "log_stream": "in-process",
                    "arn": f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT}:function:{self.spec.logical_id}"}
        return handler(event, LambdaContext(function, str(uuid.uuid4()), time.time() + self.spec.timeout))
