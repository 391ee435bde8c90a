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


def attachment(file_type: str, data_url: str | None = None, **extra: Any) -> dict[str, Any]:
    """One `attachments[]` item as Chatwoot v4.16 sends it (`app/models/attachment.rb#push_event_data`)."""
    item: dict[str, Any] = {"id": int(uuid.uuid4().int % 10**6), "message_id": 0, "file_type": file_type,
                            "account_id": 0, "extension": None, "data_url": data_url, "thumb_url": "",
                            "file_size": extra.pop("file_size", 1000), "width": None, "height": None}
    item.update(extra)
    return item


def with_attachments(payload: dict[str, Any], *items: dict[str, Any], content: str | None = None) -> dict[str, Any]:
    """An incoming payload carrying attachments; `content` None is a message without text (a voice note)."""
    payload["content"] = content
    payload["conversation"]["messages"][0]["content"] = content
    payload["attachments"] = [{**item, "message_id": payload["id"], "account_id": payload["account"]["id"]}
                              for item in items]
    return payload


def agent_message(account_id: int, inbox_id: int, conversation_id: int, message_id: int, content: str,
                  **changes: Any) -> dict[str, Any]:
    """An outgoing message from an agent (`sender.type` "user"), as an account webhook delivers it: a human's reply,
    or the echo of the bot's own reply when the bot posts with that agent's token."""
    payload = echo(account_id, inbox_id, conversation_id, message_id)
    payload["content"] = content
    payload["sender"] = {"id": 41, "name": "Bruna (atendente)", "type": "user"}
    payload["conversation"]["account"]["id"] = account_id
    payload.update(changes)
    return payload


def status_changed(account_id: int, inbox_id: int, conversation_id: int, status: str,
                   previous: str = "open") -> dict[str, Any]:
    """`conversation_status_changed` (the conversation itself, with `changed_attributes`)."""
    return {"event": "conversation_status_changed", "id": conversation_id, "inbox_id": inbox_id,
            "account": {"id": account_id, "name": "Acme Store"}, "status": status,
            "changed_attributes": [{"status": {"previous_value": previous, "current_value": status}}]}
