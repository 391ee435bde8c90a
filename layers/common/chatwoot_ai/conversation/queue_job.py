"""The message the receiver puts on the FIFO queue and the worker takes: one incoming customer message."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MAX_CONTENT_CHARS = 4000


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
