"""The message the receiver puts on the FIFO queue and the worker takes: one incoming customer message."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chatwoot_ai.identity import CustomerIdentity

MAX_CONTENT_CHARS = 4000
MAX_ATTACHMENTS = 10


class Attachment(BaseModel):
    """One of Chatwoot's `attachments[]`: metadata only, never the file (the worker downloads it when it needs to)."""

    model_config = ConfigDict(extra="ignore")

    file_type: str = "file"  # audio, image, video, file, location, contact, sticker, fallback, share, ...
    data_url: str | None = Field(default=None, max_length=2000)
    file_size: int | None = None
    extension: str | None = Field(default=None, max_length=20)
    transcribed_text: str | None = Field(default=None, max_length=MAX_CONTENT_CHARS)
    fallback_title: str | None = Field(default=None, max_length=300)  # a location's or a contact card's title

    @classmethod
    def from_chatwoot(cls, item: dict[str, Any]) -> Attachment:
        def text(key: str, limit: int) -> str | None:
            value = item.get(key)
            return value[:limit] if isinstance(value, str) and value.strip() else None

        size = item.get("file_size")
        return cls(file_type=(text("file_type", 40) or "file").lower(), data_url=text("data_url", 2000),
                   file_size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                   extension=text("extension", 20), transcribed_text=text("transcribed_text", MAX_CONTENT_CHARS),
                   fallback_title=text("fallback_title", 300))


class ConversationJob(BaseModel):
    """Everything the worker needs without the (large) Chatwoot payload. The tenant comes from the mapping."""

    model_config = ConfigDict(extra="ignore")

    tenant_id: str
    domain: str = "default"
    channel: str = "api"
    account_id: int
    inbox_id: int
    conversation_id: int
    message_id: int
    content: str = Field(default="", max_length=MAX_CONTENT_CHARS)
    sender_name: str | None = None
    conversation_status: str | None = None
    delivery_id: str | None = None
    received_at_ms: int
    attachments: list[Attachment] = Field(default_factory=list)
    # The contact gave an e-mail or phone (the web widget's visitors are anonymous until they do).
    identified: bool = True
    # Who wrote, as Chatwoot knows them: the worker signs these into the customer identity the Odoo gateway binds
    # order and customer lookups to (chatwoot_ai.identity).
    contact_id: int | None = None
    contact_phone: str | None = Field(default=None, max_length=40)
    contact_email: str | None = Field(default=None, max_length=254)

    @property
    def customer(self) -> CustomerIdentity:
        """The contact the Odoo tools may answer for in this conversation (unverified without a phone or e-mail)."""
        return CustomerIdentity(tenant_id=self.tenant_id, domain=self.domain, account_id=self.account_id,
                                conversation_id=self.conversation_id, contact_id=self.contact_id,
                                phone=self.contact_phone, email=self.contact_email)

    @property
    def group_id(self) -> str:
        """FIFO message group: one conversation of one tenant is answered in order."""
        return f"{self.tenant_id}:{self.account_id}:{self.conversation_id}"

    @property
    def turn_key(self) -> str:
        """Sort key of this message's turn in the history: time order, then message id."""
        return turn_key(self.received_at_ms, self.message_id)


def turn_key(received_at_ms: int, message_id: int | str) -> str:
    return f"turn#{received_at_ms:013d}#{message_id}"


def turn_text(job: ConversationJob) -> str:
    """What the history shows of a message until the worker reads it: its text, the transcript Chatwoot made of a
    voice note, and a mark for each other attachment."""
    parts = [job.content.strip()] if job.content.strip() else []
    for item in job.attachments:
        parts.append(item.transcribed_text.strip() if item.transcribed_text else f"[{item.file_type}]")
    return "\n".join(parts)[:MAX_CONTENT_CHARS]


def unread_attachments(job: ConversationJob) -> str | None:
    """The message's text and attachments (JSON), kept on its turn until the worker has read them: a burst's later
    voice note is read by the worker that answers the burst, not by its own (skipped) job."""
    if not job.attachments:
        return None
    return json.dumps({"content": job.content, "attachments": [a.model_dump(exclude_none=True)
                                                               for a in job.attachments]}, ensure_ascii=False)


def read_unread(raw: str) -> tuple[str, list[Attachment]]:
    data = json.loads(raw)
    return str(data.get("content") or ""), [Attachment.model_validate(a) for a in data.get("attachments") or []]
