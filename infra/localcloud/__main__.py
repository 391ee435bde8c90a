"""`python -m localcloud run`: the whole stack in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localcloud", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the local stack")
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    run.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    run.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL") or None,
                     help="use this AWS endpoint (LocalStack, AWS) instead of starting moto")
    run.add_argument("--stack-name", default=os.environ.get("STACK_NAME", "chatwoot-ai"))
    run.add_argument("--no-seed", action="store_true", help="do not load the demo tenant")
    args = parser.parse_args(argv)

    from localcloud.cloud import LocalCloud

    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    print(f"starting the local stack on http://{args.host}:{args.port} ...", flush=True)
    cloud = LocalCloud(port=args.port, host=args.host, stack_name=args.stack_name, endpoint_url=args.endpoint_url)
    try:
        cloud.start()
    except OSError as exc:
        print(f"cannot start: {exc} (is port {args.port} taken? try PORT=3001 make run)", file=sys.stderr)
        cloud.stop()
        return 1
    if not args.no_seed:
        from localcloud.seed import seed_demo

        try:
            print(seed_demo(cloud), flush=True)
        except Exception as exc:  # the stack is still useful without the demo tenant
            print(f"warning: the demo tenant could not be loaded: {type(exc).__name__}: {exc}", file=sys.stderr)
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
            "Ctrl-C or SIGTERM stops it.",
        ]),
        flush=True,
    )
    stop.wait()
    print("stopping ...", flush=True)
    cloud.stop()
    print("stopped.", flush=True)
    sys.stderr.flush()
    # Native threads of the libraries (onnxruntime's pool) must not race the interpreter's teardown: a C++ thread
    # alive at exit aborts the process. Everything is stopped and flushed, so leave without the teardown.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
