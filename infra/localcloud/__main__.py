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
import sys
from pathlib import Path
from typing import Any

from localcloud.state import PRIVATE_UMASK, DataDir


def _data_dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=os.environ.get("LOCALCLOUD_DATA_DIR") or None,
                        help="where state is kept (default .local/)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localcloud", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    start = sub.add_parser("run", help="start the local stack")
    start.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    start.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    start.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL") or None,
                       help="use this AWS endpoint (LocalStack, AWS) instead of starting moto")
    start.add_argument("--stack-name", default=os.environ.get("STACK_NAME", "chatwoot-ai"))
    start.add_argument("--no-seed", action="store_true", help="do not load the demo tenant")
    _data_dir_arg(start)

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
    if args.command in ("run", "invoke"):
        os.umask(PRIVATE_UMASK)  # the embedded Qdrant creates its files with the process's umask
    if args.command == "run":
        from localcloud.run import run

        return run(args.port, args.host, args.stack_name, args.endpoint_url, args.data_dir, seed=not args.no_seed)
    if args.command == "invoke":
        return _invoke(args)
    if args.command == "generate-event":
        return _generate(args)
    return _reset(args)


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
