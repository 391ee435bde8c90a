"""`python -m localcloud run` (`make run`): the whole stack in the foreground until Ctrl-C or SIGTERM, with the state
of `.local/` restored, the demo tenant loaded, `.local/run.json` written for the other commands, the functions' logs
in `.local/logs/` and the terminal kept for what a person reads."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any

from localcloud.cloud import LocalCloud
from localcloud.logs import LogRouter
from localcloud.state import DataDir


def run(port: int, host: str, stack_name: str, endpoint_url: str | None, data_dir: str | None, seed: bool) -> int:
    data = DataDir(data_dir)
    running = data.running()
    if running is not None:
        print(f"a stack already runs on {data.root}: {running.get('url')} (pid {running['pid']})", file=sys.stderr)
        return 1
    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    print(f"starting the local stack on http://{host}:{port} ...", flush=True)
    cloud = LocalCloud(port=port, host=host, stack_name=stack_name, endpoint_url=endpoint_url,
                       data_dir=data.root, admin_key=data.admin_key(), persist=True)
    log_format = os.environ.get("LOG_FORMAT", "plain")
    router = LogRouter(data.logs, log_format)
    cloud.echo_logs = False
    cloud.log_listeners.append(router)
    try:
        cloud.start(ready=not seed)
    except OSError as exc:
        print(f"cannot start: {exc} (is port {port} taken? try PORT=3001 make run)", file=sys.stderr)
        cloud.stop()
        return 1
    except RuntimeError as exc:  # the saved state cannot be read: never start empty over it
        print(f"cannot start: {exc}", file=sys.stderr)
        cloud.stop()
        return 1
    assert cloud.gateway is not None
    if cloud.restored is not None and cloud.snapshot is not None:
        print(f"state restored from {cloud.snapshot.path}: {cloud.restored.summary()}" if cloud.restored.found
              else f"no saved state in {cloud.snapshot.path.parent}: starting empty", flush=True)
    demo = None
    if seed:
        demo = _seed(cloud)
        cloud.gateway.ready = True
    data.write_run(_run_info(cloud, stack_name, demo))
    print(
        "\n".join([
            "",
            "Chatwoot AI is running.",
            f"  API             {cloud.url}",
            f"  health          {cloud.url}/health",
            f"  viewer          {cloud.url}/viewer/",
            f"  owner's view    {cloud.url}/conversations/<tenant_id>, /playground/<tenant_id>, /metrics/<tenant_id>"
            "   (in the viewer: a tenant's Conversations, Playground and Metrics tabs)",
            f"  Chatwoot hook   {cloud.url}/webhooks/chatwoot   (another Chatwoot server: .../chatwoot/<installation>)",
            f"  MCP (Odoo)      {cloud.url}/mcp",
            f"  emulated AWS    {cloud.endpoint_url}",
            f"  admin key       {cloud.admin_key}   (send as X-Api-Key)",
            f"  state           {data.root} (kept across restarts; `make reset` empties it)",
            f"  logs            {data.logs}/<function>.log"
            + ("" if router.echo_json else "   (LOG_FORMAT=json prints them here too)"),
            "Ctrl-C or SIGTERM stops it.",
        ]),
        flush=True,
    )
    # A signal can land on any of the stack's threads; CPython runs the handler in the main thread only when that
    # thread wakes up, and a wait without a timeout may never wake (a SIGTERM was seen lost that way).
    while not stop.wait(0.5):
        pass
    print("stopping ...", flush=True)
    cloud.stop()
    data.clear_run()
    router.close()
    print(f"stopped. state saved in {data.root}", flush=True)
    sys.stderr.flush()
    # Native threads of the libraries (onnxruntime's pool) must not race the interpreter's teardown: a C++ thread
    # alive at exit aborts the process. Everything is stopped and flushed, so leave without the teardown.
    os._exit(0)


def _seed(cloud: Any) -> dict[str, Any] | None:
    from localcloud.events import DEMO_INBOX
    from localcloud.seed import DEMO_ACCOUNT, DEMO_TENANT, seed_demo

    assert cloud.gateway is not None
    cloud.gateway.health_extra["demo"] = {"tenant": DEMO_TENANT, "loaded": False}
    try:
        print(seed_demo(cloud), flush=True)
    except Exception as exc:  # the stack is still useful without the demo tenant
        print(f"warning: the demo tenant could not be loaded: {type(exc).__name__}: {exc}", file=sys.stderr)
        cloud.gateway.health_extra["demo"] = {"tenant": DEMO_TENANT, "loaded": False, "error": str(exc)}
        return None
    cloud.gateway.health_extra["demo"] = {"tenant": DEMO_TENANT, "loaded": True}
    return {"tenant": DEMO_TENANT, "account_id": DEMO_ACCOUNT, "inbox_id": DEMO_INBOX,
            "credentials": str(cloud.data_dir / "demo-credentials.json")}


def _run_info(cloud: Any, stack_name: str, demo: dict[str, Any] | None) -> dict[str, Any]:
    """What `localcloud invoke` and the demo script need to join this stack (the Qdrant address holds its key)."""
    from localcloud.qdrant_share import ADDRESS_ENV

    share = cloud.qdrant_share.environment() if cloud.qdrant_share is not None else {}
    return {"url": cloud.url, "host": cloud.host, "port": cloud.port, "endpoint_url": cloud.endpoint_url,
            "stack_name": stack_name, "admin_key": cloud.admin_key, "qdrant": share.get(ADDRESS_ENV),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "demo": demo}
