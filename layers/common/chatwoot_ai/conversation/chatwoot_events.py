"""What a Chatwoot webhook payload means for us: route it to a tenant, and decide to answer, note or ignore it.

Payload shapes (Chatwoot v4.16): message events carry `account.id`, `inbox.id`, `conversation{...}`, a string
`message_type`, `private`, `sender` (a contact has no `type`; agents `user`, bots `agent_bot`, Captain
`captain_assistant`). Conversation events are the conversation itself: `id`, `inbox_id`, `account.id` (>= v4.14.2),
`status`, and `changed_attributes` on updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Action = Literal["enqueue", "takeover", "release", "ignore"]

MESSAGE_EVENTS = {"message_created"}
CONVERSATION_EVENTS = {"conversation_status_changed", "conversation_updated"}
BOT_SENDERS = {"agent_bot", "captain_assistant"}


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def routing_ids(payload: dict[str, Any]) -> tuple[int | None, int | None, int | None]:
    """(account_id, inbox_id, conversation_id) wherever this event type keeps them."""
    conversation = _dict(payload.get("conversation"))
    account_id = _int(_dict(payload.get("account")).get("id")) or _int(_dict(conversation.get("account")).get("id"))
    if payload.get("event") in MESSAGE_EVENTS:
        inbox_id = _int(_dict(payload.get("inbox")).get("id")) or _int(conversation.get("inbox_id"))
        conversation_id = _int(conversation.get("id"))
    else:
        inbox_id = _int(payload.get("inbox_id")) or _int(_dict(payload.get("inbox")).get("id"))
        conversation_id = _int(payload.get("id"))
    return account_id, inbox_id, conversation_id


def classify(payload: dict[str, Any]) -> Decision:
    event = payload.get("event")
    if event in MESSAGE_EVENTS:
        return _classify_message(payload)
    if event in CONVERSATION_EVENTS:
        return _classify_conversation(payload)
    return Decision("ignore", f"event {event!s} is not answered")


def _classify_message(payload: dict[str, Any]) -> Decision:
    message_type = payload.get("message_type")
    private = payload.get("private") is True
    sender_type = str(_dict(payload.get("sender")).get("type") or "").lower()
    if message_type == "incoming":
        if private:
            return Decision("ignore", "private note")
        if sender_type in BOT_SENDERS or sender_type == "user":
            return Decision("ignore", f"incoming message from a {sender_type}")
        content = payload.get("content")
        if isinstance(content, str) and content.strip():
            return Decision("enqueue", "incoming customer message")
        if attachments(payload):  # a voice note, a photo, a sticker...: never met with silence
            return Decision("enqueue", "incoming attachment")
        return Decision("ignore", "no text content")
    if message_type == "outgoing":
        if sender_type in BOT_SENDERS:
            return Decision("ignore", "bot echo")
        if sender_type == "user" and not private:
            return Decision("takeover", "a human agent replied")
        return Decision("ignore", "outgoing message")
    if message_type in ("template", "activity"):
        return Decision("ignore", f"{message_type} message")
    return Decision("ignore", f"message_type {message_type!s}")


def attachments(payload: dict[str, Any]) -> list[dict[str, Any]]:
    items = payload.get("attachments")
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def contact_identified(payload: dict[str, Any]) -> bool:
    """The contact left an e-mail or a phone number (on WhatsApp always; a web-widget visitor only once asked)."""
    sender = _dict(payload.get("sender"))
    meta_sender = _dict(_dict(_dict(payload.get("conversation")).get("meta")).get("sender"))
    return any(isinstance(who.get(key), str) and who.get(key, "").strip()
               for who in (sender, meta_sender) for key in ("email", "phone_number"))


def contact(payload: dict[str, Any]) -> tuple[int | None, str | None, str | None]:
    """(contact id, phone, e-mail) of the message's sender as Chatwoot knows them: `sender` for an incoming message,
    else the conversation's `meta.sender`. Only a contact counts (an agent's or a bot's message has none)."""
    sender = _dict(payload.get("sender"))
    if sender.get("type") not in (None, "contact"):
        sender = {}
    meta_sender = _dict(_dict(_dict(payload.get("conversation")).get("meta")).get("sender"))
    who = sender or meta_sender

    def text(key: str, limit: int) -> str | None:
        value = who.get(key)
        return value.strip()[:limit] if isinstance(value, str) and value.strip() else None

    contact_id = who.get("id")
    return (contact_id if isinstance(contact_id, int) and not isinstance(contact_id, bool) else None,
            text("phone_number", 40), text("email", 254))


def hmac_verified(payload: dict[str, Any]) -> bool:
    """Chatwoot's identity validation vouched for the web-widget contact (the site signed its user's identifier)."""
    conversation = _dict(payload.get("conversation"))
    return any(value is True for value in (_dict(conversation.get("contact_inbox")).get("hmac_verified"),
                                           _dict(conversation.get("meta")).get("hmac_verified")))


def _previous_status(payload: dict[str, Any]) -> Any:
    """`changed_attributes` is a list of {attr: {previous_value, current_value}} (a dict in some versions)."""
    changed = payload.get("changed_attributes")
    entries = changed if isinstance(changed, list) else [changed]
    for entry in entries:
        status = _dict(_dict(entry).get("status"))
        if status:
            return status.get("previous_value")
    return None


def _classify_conversation(payload: dict[str, Any]) -> Decision:
    status = payload.get("status")
    if status == "pending":
        return Decision("release", "conversation is pending (bot) again")
    if status == "resolved":
        return Decision("release", "conversation resolved")
    if status == "open" and _previous_status(payload) == "pending":
        return Decision("takeover", "a human opened the conversation")
    return Decision("ignore", f"conversation status {status!s}")
