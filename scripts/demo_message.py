#!/usr/bin/env python3
"""Sends one customer message to the running `make run` stack as Chatwoot would: a signed `message_created` webhook
for the demo tenant. The answer is printed by `make run` (its demo Chatwoot prints every reply).

    .venv/bin/python scripts/demo_message.py "Vocês têm protetor solar? Qual o preço?" [--conversation 42]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]

from devtools.chatwoot_payloads import incoming, signed  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("text")
    parser.add_argument("--conversation", type=int, default=4242)
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('PORT', '3000')}")
    parser.add_argument("--secrets", default=str(ROOT / ".local" / "demo-credentials.json"))
    args = parser.parse_args()
    secrets_path = Path(args.secrets)
    if not secrets_path.is_file():
        print(f"{secrets_path} not found: start the stack with `make run` first", file=sys.stderr)
        return 2
    secret = json.loads(secrets_path.read_text())["chatwoot_webhook_secret"]
    payload = incoming(account_id=1, inbox_id=101, conversation_id=args.conversation,
                       message_id=random.randint(10**6, 10**9), content=args.text)
    body, headers = signed(payload, secret)
    response = httpx.post(f"{args.url}/webhooks/chatwoot", content=body, headers=headers, timeout=10)
    print(response.status_code, response.text)
    return 0 if response.status_code < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
