"""Chatwoot webhook payloads built from the shared fixtures (tests/fixtures/chatwoot), signed as Chatwoot signs them:
for tests, the bench and scripts/demo_message.py."""

from __future__ import annotations

import copy
import json
import time
import uuid
from typing import Any

from chatwoot_ai.signing import sign
from devtools import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "chatwoot"
INCOMING = "01_message_created_incoming_whatsapp_v4.16_code_derived.json"
ECHO = "02_message_created_outgoing_agent_bot_echo_v4.16_code_derived.json"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def incoming(account_id: int, inbox_id: int, conversation_id: int, message_id: int, content: str,
             **changes: Any) -> dict[str, Any]:
    """The fixture's incoming WhatsApp message, moved to another account/inbox/conversation/message."""
    payload = copy.deepcopy(load(INCOMING))
    payload["account"]["id"] = account_id
    payload["inbox"]["id"] = inbox_id
    payload["id"] = message_id
    payload["content"] = content
    conv = payload["conversation"]
    conv["id"] = conversation_id
    conv["inbox_id"] = inbox_id
    conv["account"]["id"] = account_id
    conv["messages"][0].update(id=message_id, content=content, account_id=account_id, inbox_id=inbox_id,
                               conversation_id=conversation_id)
    payload.update(changes)
    return payload


def echo(account_id: int, inbox_id: int, conversation_id: int, message_id: int) -> dict[str, Any]:
    payload = copy.deepcopy(load(ECHO))
    payload["account"]["id"] = account_id
    payload["inbox"]["id"] = inbox_id
    payload["id"] = message_id
    payload["conversation"]["id"] = conversation_id
    payload["conversation"]["inbox_id"] = inbox_id
    return payload


def signed(payload: dict[str, Any] | bytes, secret: str, *, timestamp: int | None = None,
           delivery_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return raw, {
        "Content-Type": "application/json",
        "X-Chatwoot-Delivery": delivery_id or str(uuid.uuid4()),
        "X-Chatwoot-Timestamp": ts,
        "X-Chatwoot-Signature": sign(secret, ts, raw),
    }
