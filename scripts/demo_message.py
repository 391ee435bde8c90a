#!/usr/bin/env python3
"""Sends one customer message to the running `make run` stack as Chatwoot would: a signed `message_created` webhook
for the demo tenant. The answer is printed by `make run` (its demo Chatwoot prints every reply).

    .venv/bin/python scripts/demo_message.py "Vocês têm protetor solar? Qual o preço?"     # a new conversation
    .venv/bin/python scripts/demo_message.py --continue "E para pele oleosa?"             # the same conversation
    .venv/bin/python scripts/demo_message.py --conversation 7 "Quero falar com uma atendente"

The stack's port, the demo tenant's account, inbox and webhook secret come from `.local/run.json`, which `make run`
writes once the demo tenant is loaded (LOCALCLOUD_DATA_DIR names another folder). Each run starts a new conversation
unless told otherwise, so a handoff in one does not silence the next.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "infra"))

from localcloud.events import message_created, signed  # noqa: E402
from localcloud.state import DataDir  # noqa: E402

BUSY_RETRIES = 5


def _conversation(data: DataDir, args: argparse.Namespace) -> int:
    """The conversation to write in: --conversation, --continue (the last one), else a new one."""
    last_file = data.root / "demo-conversation"
    last = int(last_file.read_text()) if last_file.is_file() else 0
    if args.conversation is not None:
        number = args.conversation
    elif args.continue_:
        number = last or 1
    else:
        number = last + 1
    last_file.write_text(f"{max(number, last)}\n")
    return number


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("text")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--conversation", type=int, help="write in this conversation")
    which.add_argument("--continue", dest="continue_", action="store_true", help="write in the last conversation")
    parser.add_argument("--url", help="the stack's URL (default: from run.json)")
    parser.add_argument("--data-dir", help="the stack's folder (default .local/, or LOCALCLOUD_DATA_DIR)")
    args = parser.parse_args()

    data = DataDir(args.data_dir)
    running = data.running()
    if running is None:
        print(f"no running stack found ({data.run_file} is missing or stale): start it with `make run` and wait for "
              "'Chatwoot AI is running.'", file=sys.stderr)
        return 2
    demo = running.get("demo")
    if not demo:
        print("the running stack has no demo tenant (started with --no-seed, or loading it failed)", file=sys.stderr)
        return 2
    secret = json.loads(Path(demo["credentials"]).read_text(encoding="utf-8"))["chatwoot_webhook_secret"]
    conversation = _conversation(data, args)
    payload = message_created(args.text, account_id=demo["account_id"], inbox_id=demo["inbox_id"],
                              conversation_id=conversation, message_id=random.randint(10**6, 10**9))
    body, headers = signed(payload, secret, delivery_id=f"demo-{conversation}-{payload['id']}")
    url = args.url or running["url"]
    for attempt in range(1, BUSY_RETRIES + 2):
        try:
            response = httpx.post(f"{url}/webhooks/chatwoot", content=body, headers=headers, timeout=10)
        except httpx.HTTPError as exc:
            print(f"the stack at {url} did not answer: {exc}", file=sys.stderr)
            return 1
        if response.status_code != 429 or attempt > BUSY_RETRIES:
            break
        # The receiver is saturated (a stack that has just started is still loading its functions): Chatwoot
        # sends the same delivery again after Retry-After, and so does this script.
        wait_s = min(float(response.headers.get("retry-after", "1")), 10.0)
        print(f"the receiver is busy (429); sending again in {wait_s:.0f} s", file=sys.stderr)
        time.sleep(wait_s)
    if response.status_code >= 300:
        print(f"{response.status_code} {response.text}", file=sys.stderr)
        return 1
    print(f"conversation {conversation}: sent; the reply appears in the `make run` terminal "
          f"(next: --continue to write in this conversation)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
