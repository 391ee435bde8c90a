"""`python -m localcloud invoke <FunctionLogicalId> -e <file|->`: one invocation, as `sam local invoke` makes one,
without Docker. The handler's return value is printed as JSON on stdout, its log lines go to stderr, and the exit
status is 1 when the invocation failed (the handler raised, its process died, or it timed out).

Where it runs:
- next to a running `make run` (its `.local/run.json`): on that stack's emulated cloud and embedded Qdrant, so the
  invocation sees and changes the live state;
- otherwise, on a moto of its own that restores `.local/state/` first and saves it after, so `make run` later sees
  what the invocation did (a message it queued is processed then);
- with `--endpoint-url` (or AWS_ENDPOINT_URL): against that endpoint (LocalStack), provisioning what is missing.

Only the invoked function runs: what it queues or publishes waits for `make run`'s event sources. Events may carry
`${NAME}` placeholders, filled from the function's environment (`${ADMIN_API_KEY}` in the examples of events/).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import IO, Any

from localcloud.lambdas import InvocationError
from localcloud.logs import named
from localcloud.state import DataDir

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class UsageError(Exception):
    """A mistake of the caller (unknown function, unreadable event): exit status 2."""


def read_event(source: str | None, stdin: IO[str] | None = None) -> str:
    if source is None:
        return "{}"  # as sam does without --event
    if source == "-":
        return (stdin or sys.stdin).read()
    path = Path(source)
    if not path.is_file():
        raise UsageError(f"event file {source} not found")
    return path.read_text(encoding="utf-8")


def expand(text: str, environment: dict[str, str]) -> Any:
    """The event with `${NAME}` replaced by the variable's value where the function (or this shell) has one."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environment:
            return match.group(0)
        return json.dumps(environment[name])[1:-1]  # escaped for a JSON string

    try:
        return json.loads(PLACEHOLDER.sub(value, text))
    except ValueError as exc:
        raise UsageError(f"the event is not JSON: {exc}") from exc


def env_vars(path: str | None, function_id: str) -> dict[str, str]:
    """sam's `--env-vars` file: {"Parameters": {...every function...}, "<FunctionLogicalId>": {...}}."""
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--env-vars {path}: {exc}") from exc
    out = {k: str(v) for k, v in (data.get("Parameters") or {}).items()}
    out.update({k: str(v) for k, v in (data.get(function_id) or {}).items()})
    return out


def _cloud(data: DataDir, stack_name: str, endpoint_url: str | None) -> tuple[Any, str]:
    from localcloud.cloud import LocalCloud

    running = data.running()
    if endpoint_url:
        cloud = LocalCloud(endpoint_url=endpoint_url, stack_name=stack_name, data_dir=data.root,
                           admin_key=data.admin_key(), event_sources=False)
        return cloud, f"the endpoint {endpoint_url}"
    if running is not None:
        cloud = LocalCloud(port=int(running["port"]), host=running["host"], endpoint_url=running["endpoint_url"],
                           stack_name=running["stack_name"], data_dir=data.root, admin_key=running["admin_key"],
                           qdrant_address=running.get("qdrant"), event_sources=False)
        return cloud, f"the running stack at {running['url']} (pid {running['pid']})"
    port = int(os.environ.get("PORT", "3000"))  # the variables make run would give the function
    cloud = LocalCloud(port=port, stack_name=stack_name, data_dir=data.root, admin_key=data.admin_key(),
                       persist=True, event_sources=False)
    return cloud, f"the state in {data.root}"


def invoke(function_id: str, event_text: str, *, data_dir: str | Path | None = None, env_file: str | None = None,
           endpoint_url: str | None = None, stack_name: str = "chatwoot-ai", out: IO[str] | None = None,
           err: IO[str] | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    data = DataDir(data_dir)
    cloud, where = _cloud(data, stack_name, endpoint_url)
    cloud.echo_logs = False
    cloud.log_listeners.append(lambda function, line: err.write(named(function, line)[0] + "\n"))
    try:
        cloud.start(serve=False)
        function = cloud.functions.get(function_id)
        if function is None:
            raise UsageError(f"{function_id} is not a function of infra/template.yaml; its functions: "
                             f"{', '.join(sorted(cloud.functions))}")
        overrides = env_vars(env_file, function_id)
        if overrides:
            function.update_environment(dict(overrides))
        event = expand(event_text, {**os.environ, **function.environment()})
        started = time.perf_counter()
        try:
            result = function.invoke(event)
            status = 0
        except InvocationError as exc:
            message = str(exc).split(": ", 2)[-1]
            result = {"errorType": exc.kind, "errorMessage": message, "stackTrace": exc.trace.splitlines()}
            status = 1
        took = time.perf_counter() - started
        init = f" Init Duration: {function.cold_start_s * 1000:.0f} ms" if function.cold_start_s else ""
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
        err.write(f"REPORT {function_id} Duration: {took * 1000:.0f} ms{init} on {where}\n")
        return status
    finally:
        cloud.stop()
        err.flush()
