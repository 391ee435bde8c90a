"""The local stack's commands:

    python -m localcloud run                       the whole stack in the foreground until Ctrl-C or SIGTERM
    python -m localcloud invoke <FunctionLogicalId> -e <file|->  [--env-vars file]   one invocation
    python -m localcloud generate-event <kind> ...  an event to invoke with (webhook, http, sqs, config-changed, ...)
    python -m localcloud reset                     empties .local/ (state, vectors, logs, keys)

State lives in `.local/` (`--data-dir`, LOCALCLOUD_DATA_DIR): see localcloud/state.py.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from localcloud.state import DataDir


def _data_dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=os.environ.get("LOCALCLOUD_DATA_DIR") or None,
                        help="where state is kept (default .local/)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localcloud", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start the local stack")
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    run.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    run.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL") or None,
                     help="use this AWS endpoint (LocalStack, AWS) instead of starting moto")
    run.add_argument("--stack-name", default=os.environ.get("STACK_NAME", "chatwoot-ai"))
    run.add_argument("--no-seed", action="store_true", help="do not load the demo tenant")
    _data_dir_arg(run)

    invoke = sub.add_parser("invoke", help="invoke one function once, like `sam local invoke`")
    invoke.add_argument("function", metavar="FunctionLogicalId")
    invoke.add_argument("-e", "--event", help="event file, or - for stdin (default: {})")
    invoke.add_argument("-n", "--env-vars", help="JSON file of environment variables, as sam's --env-vars")
    invoke.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL") or None)
    invoke.add_argument("--stack-name", default=os.environ.get("STACK_NAME", "chatwoot-ai"))
    _data_dir_arg(invoke)

    generate = sub.add_parser("generate-event", help="print an event for `invoke` (like `sam local generate-event`)")
    _generate_args(generate)

    reset = sub.add_parser("reset", help="delete .local/: the next run starts empty")
    _data_dir_arg(reset)

    args = parser.parse_args(argv)
    if args.command == "run":
        return _run(args)
    if args.command == "invoke":
        return _invoke(args)
    if args.command == "generate-event":
        return _generate(args)
    return _reset(args)


# -------------------------------------------------------------------- run
def _run(args: argparse.Namespace) -> int:
    from localcloud.cloud import LocalCloud
    from localcloud.logs import LogRouter

    data = DataDir(args.data_dir)
    running = data.running()
    if running is not None:
        print(f"a stack already runs on {data.root}: {running.get('url')} (pid {running['pid']})", file=sys.stderr)
        return 1
    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    print(f"starting the local stack on http://{args.host}:{args.port} ...", flush=True)
    cloud = LocalCloud(port=args.port, host=args.host, stack_name=args.stack_name, endpoint_url=args.endpoint_url,
                       data_dir=data.root, admin_key=data.admin_key(), persist=True)
    log_format = os.environ.get("LOG_FORMAT", "plain")
    router = LogRouter(data.logs, log_format)
    cloud.echo_logs = False
    cloud.log_listeners.append(router)
    try:
        cloud.start(ready=args.no_seed)
    except OSError as exc:
        print(f"cannot start: {exc} (is port {args.port} taken? try PORT=3001 make run)", file=sys.stderr)
        cloud.stop()
        return 1
    except RuntimeError as exc:  # the saved state cannot be read: never start empty over it
        print(f"cannot start: {exc}", file=sys.stderr)
        cloud.stop()
        return 1
    assert cloud.gateway is not None
    if cloud.restored is not None:
        print(f"state restored from {cloud.snapshot.path if cloud.snapshot else data.root}: "
              f"{cloud.restored.summary()}", flush=True)
    demo = None
    if not args.no_seed:
        demo = _seed(cloud)
        cloud.gateway.ready = True
    data.write_run(_run_info(cloud, args.stack_name, demo))
    print(
        "\n".join([
            "",
            "Chatwoot AI is running.",
            f"  API             {cloud.url}",
            f"  health          {cloud.url}/health",
            f"  viewer          {cloud.url}/viewer/",
            f"  Chatwoot hook   {cloud.url}/webhooks/chatwoot",
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
    share = cloud.qdrant_share.environment() if cloud.qdrant_share is not None else {}
    from localcloud.qdrant_share import ADDRESS_ENV

    return {"url": cloud.url, "host": cloud.host, "port": cloud.port, "endpoint_url": cloud.endpoint_url,
            "stack_name": stack_name, "admin_key": cloud.admin_key, "qdrant": share.get(ADDRESS_ENV),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "demo": demo}


# -------------------------------------------------------------------- invoke
def _invoke(args: argparse.Namespace) -> int:
    from localcloud.invoke import UsageError, invoke, read_event

    try:
        text = read_event(args.event)
        return invoke(args.function, text, data_dir=args.data_dir, env_file=args.env_vars,
                      endpoint_url=args.endpoint_url, stack_name=args.stack_name)
    except (UsageError, RuntimeError) as exc:
        print(f"localcloud invoke: {exc}", file=sys.stderr)
        return 2


# -------------------------------------------------------------------- generate-event
def _generate_args(parser: argparse.ArgumentParser) -> None:
    kinds = parser.add_subparsers(dest="kind", required=True)
    hook = kinds.add_parser("webhook", help="a signed Chatwoot message_created for WebhookReceiverFunction")
    hook.add_argument("text", nargs="?", default="Oi! Vocês têm protetor solar? Qual o preço?")
    hook.add_argument("--secret", default=os.environ.get("CHATWOOT_WEBHOOK_SECRET"),
                      help="the tenant's chatwoot_webhook_secret (default: the demo tenant's, from .local/)")
    hook.add_argument("--account", type=int, default=1)
    hook.add_argument("--inbox", type=int, default=101)
    hook.add_argument("--conversation", type=int, default=1)
    hook.add_argument("--message-id", type=int, default=None)
    hook.add_argument("--unsigned", action="store_true", help="no signature (the receiver answers 401)")
    _data_dir_arg(hook)

    http = kinds.add_parser("http", help="an API Gateway HTTP API event for a route of the template")
    http.add_argument("method")
    http.add_argument("path", help="with its query string, e.g. '/products?q=protetor'")
    http.add_argument("--body", help="JSON body (or @file)")
    http.add_argument("-H", "--header", action="append", default=[], help="'Name: value' (repeatable)")
    http.add_argument("--admin", action="store_true", help="add X-Api-Key: ${ADMIN_API_KEY}")
    http.add_argument("--tenant", help="add X-Tenant-Id (the Odoo gateway)")

    sqs = kinds.add_parser("sqs", help="an SQS batch from one of the template's queues")
    sqs.add_argument("queue", help="the queue's logical id, e.g. VectorizeQueue")
    sqs.add_argument("body", nargs="+", help="message bodies (JSON text, or @file)")
    sqs.add_argument("--group", help="MessageGroupId (FIFO queues)")

    changed = kinds.add_parser("config-changed", help="the EventBridge ConfigChanged event")
    changed.add_argument("tenant")
    changed.add_argument("--domain", default="default")
    changed.add_argument("--type", default="config", dest="config_type")
    changed.add_argument("--version", type=int, default=1)

    examples = kinds.add_parser("examples", help="the examples of events/ (names and events)")
    examples.add_argument("--write", metavar="DIR", help="write them as DIR/<name>.json")


def _text_or_file(value: str) -> str:
    return Path(value[1:]).read_text(encoding="utf-8") if value.startswith("@") else value


def _generate(args: argparse.Namespace) -> int:
    try:
        return _generate_event(args)
    except (ValueError, KeyError, OSError) as exc:
        print(f"localcloud generate-event: {exc}", file=sys.stderr)
        return 2


def _generate_event(args: argparse.Namespace) -> int:
    from localcloud import events

    event: Any
    if args.kind == "webhook":
        secret = None if args.unsigned else args.secret or _demo_secret(DataDir(args.data_dir))
        if secret is None and not args.unsigned:
            print("no secret: pass --secret (the tenant's chatwoot_webhook_secret) or start `make run` once so the "
                  "demo tenant's is in .local/demo-credentials.json", file=sys.stderr)
            return 2
        payload = events.message_created(args.text, account_id=args.account, inbox_id=args.inbox,
                                         conversation_id=args.conversation, message_id=args.message_id)
        event = events.webhook(payload, secret)
    elif args.kind == "http":
        headers = dict(events.ADMIN) if args.admin else {}
        if args.tenant:
            headers["x-tenant-id"] = args.tenant
        for header in args.header:
            name, _, value = header.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = json.loads(_text_or_file(args.body)) if args.body else None
        event = events.http(args.method, args.path, headers=headers, body=body)
        function = events.http_function(args.method, args.path)
        print(f"# served by {function}: ... | python -m localcloud invoke {function} -e -", file=sys.stderr)
    elif args.kind == "sqs":
        event = events.sqs(args.queue, [_text_or_file(b) for b in args.body], group_id=args.group)
    elif args.kind == "config-changed":
        event = events.config_changed(args.tenant, args.domain, args.config_type, args.version)
    else:
        if args.write:
            for path in events.write_examples(Path(args.write)):
                print(path)
            return 0
        event = events.examples()
    print(json.dumps(event, ensure_ascii=False, indent=2))
    return 0


def _demo_secret(data: DataDir) -> str | None:
    path = data.root / "demo-credentials.json"
    if not path.is_file():
        return None
    return str(json.loads(path.read_text(encoding="utf-8"))["chatwoot_webhook_secret"])


# -------------------------------------------------------------------- reset
def _reset(args: argparse.Namespace) -> int:
    data = DataDir(args.data_dir)
    try:
        removed = data.reset()
    except RuntimeError as exc:
        print(f"localcloud reset: {exc}", file=sys.stderr)
        return 1
    print(f"emptied {data.root}" + (f" ({', '.join(removed)})" if removed else " (it was empty)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
