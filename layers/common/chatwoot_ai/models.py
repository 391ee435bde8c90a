"""Documents shared by every function: the mapping, the tenant `config` and `credentials` (CONTRACT.md)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

Channel = Literal["whatsapp", "instagram", "web_widget", "email", "api"]
CHANNELS: tuple[str, ...] = ("whatsapp", "instagram", "web_widget", "email", "api")
CollectionName = str
DEFAULT_COLLECTIONS: tuple[str, ...] = ("business_rules", "support_documents", "products")

_CHATWOOT_CHANNELS: dict[str, str] = {
    "Channel::Whatsapp": "whatsapp",
    "Channel::TwilioSms": "whatsapp",
    "Channel::Instagram": "instagram",
    "Channel::FacebookPage": "instagram",
    "Channel::WebWidget": "web_widget",
    "Channel::Email": "email",
    "Channel::Api": "api",
}

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def channel_from_chatwoot(value: str | None) -> str:
    """Chatwoot's `conversation.channel` ("Channel::Whatsapp") as one of ours; unknown ones are `api`."""
    return _CHATWOOT_CHANNELS.get(value or "", "api")


def check_identifier(value: str, name: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"{name} must be 1-64 characters of letters, digits, '_', '.', '-'")
    return value


class Mapping(BaseModel):
    """Chatwoot account (+ inbox, or every inbox when null) -> tenant."""

    model_config = ConfigDict(extra="forbid")

    chatwoot_account_id: int = Field(ge=1)
    chatwoot_inbox_id: int | None = Field(default=None, ge=1)
    tenant_id: str
    domain: str = "default"
    channel: Channel | None = None

    @field_validator("tenant_id", "domain")
    @classmethod
    def _ids(cls, value: str, info: object) -> str:
        return check_identifier(value, getattr(info, "field_name", "id"))


class Company(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1, max_length=200)
    language: str = "pt-BR"
    timezone: str = "America/Sao_Paulo"


class Assistant(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(default="Assistente", min_length=1, max_length=80)
    greeting: str = Field(default="", max_length=1000)
    style: Literal["friendly", "formal", "neutral", "technical"] = "friendly"
    emoji_usage: Literal["none", "low", "moderate", "high"] = "moderate"


class ChatwootSettings(BaseModel):
    model_config = ConfigDict(extra="allow")
    base_url: str = Field(pattern=r"^https?://")
    # Hosts (or ".suffix" domains) the attachments' storage redirect may point at, beyond the well-known clouds.
    storage_hosts: list[str] = Field(default_factory=list)


class LlmSettings(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str | None = None
    base_url: str | None = Field(default=None, pattern=r"^https?://")
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    timeout_s: float = Field(default=30.0, gt=0, le=300)
    # Budgets (None: no cap). Over a cap the turn gets the extractive answer or a handoff, never a partial reply.
    max_calls_per_turn: int | None = Field(default=4, ge=0)
    max_tokens_per_turn: int | None = Field(default=12000, ge=0)
    max_calls_per_day: int | None = Field(default=None, ge=0)
    max_tokens_per_day: int | None = Field(default=None, ge=0)
    # OpenAI-compatible `POST {base_url}/audio/transcriptions` for voice notes Chatwoot did not transcribe.
    transcription_model: str | None = None
    # A model that reads images (chat completions with an image part); without it a photo gets a friendly message.
    vision_model: str | None = None


class OdooSettings(BaseModel):
    model_config = ConfigDict(extra="allow")
    url: str = Field(pattern=r"^https?://")
    db: str = Field(min_length=1)
    username: str = Field(min_length=1)
    protocol: Literal["xmlrpc", "json2"] = "xmlrpc"
    # Write tools (create_customer, create_quotation) only when the tenant turns them on.
    allow_write: bool = False
    timeout_s: float = Field(default=10.0, gt=0, le=60)


class Handoff(BaseModel):
    model_config = ConfigDict(extra="allow")
    keywords: list[str] = Field(default_factory=lambda: ["atendente", "humano"])
    message: str = "Vou chamar um atendente."
    # What the customer reads when nothing in the tenant's data answers (empty: "Vou verificar com a equipe...").
    no_answer_message: str = Field(default="", max_length=1000)
    min_confidence: float = Field(default=0.35, ge=0.0, le=1.0)
    # A message the bot cannot read (a sticker, a video, a file...) also goes to a human, after the short reply.
    on_unreadable_attachment: bool = False
    # A human takeover ends after this many minutes without a human reply (None: only when resolved/pending again).
    takeover_idle_minutes: float | None = Field(default=None, gt=0)


class Insights(BaseModel):
    """What the business owner's view keeps (docs/conversation.md "Traces"): each bot turn's trace lives this long."""

    model_config = ConfigDict(extra="allow")
    trace_ttl_days: int = Field(default=30, ge=1, le=400)


_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


def _check_days(value: list[int]) -> list[int]:
    if any(day < 0 or day > 6 for day in value):
        raise ValueError("days are 0 (Monday) to 6 (Sunday)")
    return value


class OpeningPeriod(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: list[int]
    start: str = Field(pattern=_HHMM)
    end: str = Field(pattern=_HHMM)

    _days = field_validator("days")(_check_days)


class BusinessHours(BaseModel):
    """In `company.timezone`; `periods` (split shifts, Saturday mornings) replaces days/start/end when given."""

    model_config = ConfigDict(extra="allow")
    days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    start: str = Field(default="09:00", pattern=_HHMM)
    end: str = Field(default="18:00", pattern=_HHMM)
    periods: list[OpeningPeriod] | None = None
    holidays: list[str] = Field(default_factory=list)
    closed_message: str = Field(default="", max_length=1000)

    _days = field_validator("days")(_check_days)

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: list[str]) -> list[str]:
        for day in value:
            if not re.match(r"^\d{4}-\d{2}-\d{2}$", day):
                raise ValueError("holidays are dates YYYY-MM-DD")
        return value

    def opening_periods(self) -> list[OpeningPeriod]:
        return self.periods if self.periods is not None else [OpeningPeriod(days=self.days, start=self.start,
                                                                            end=self.end)]


class TenantConfig(BaseModel):
    """The `config` document: behaviour, nothing secret. Unknown top-level fields are kept."""

    model_config = ConfigDict(extra="allow")

    company: Company
    assistant: Assistant = Field(default_factory=Assistant)
    enabled: bool = True
    enabled_collections: list[str] = Field(default_factory=lambda: list(DEFAULT_COLLECTIONS))
    chatwoot: ChatwootSettings | None = None
    llm: LlmSettings | None = None
    odoo: OdooSettings | None = None
    handoff: Handoff = Field(default_factory=Handoff)
    business_hours: BusinessHours | None = None
    insights: Insights = Field(default_factory=Insights)
    # Per-channel formatting overrides: {"whatsapp": {"max_length": 600, ...}}.
    channels: dict[str, dict[str, object]] = Field(default_factory=dict)

    @field_validator("enabled_collections")
    @classmethod
    def _collections(cls, value: list[str]) -> list[str]:
        for name in value:
            check_identifier(name, "enabled_collections[]")
        return value

    @property
    def llm_enabled(self) -> bool:
        return self.llm is not None and bool(self.llm.model)


class Credentials(BaseModel):
    """The `credentials` document. Values are SecretStr so they never print."""

    model_config = ConfigDict(extra="allow")

    chatwoot_api_access_token: SecretStr | None = None
    chatwoot_webhook_secret: SecretStr | None = None
    odoo_api_key: SecretStr | None = None
    llm_api_key: SecretStr | None = None
    vectorize_token: SecretStr | None = None
    # Signs POST /odoo-webhook deliveries (docs/config.md).
    odoo_webhook_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _hide_extra(self) -> Credentials:
        """Keys beyond the named ones are secrets too: keep them as SecretStr so they never print either."""
        extra = self.__pydantic_extra__ or {}
        for key, value in extra.items():
            if isinstance(value, str):
                extra[key] = SecretStr(value)
        return self


def mask_secret(value: str | None) -> str | None:
    """"****abcd": enough to recognise a secret, never enough to use it."""
    if not value:
        return value
    return "****" + value[-4:] if len(value) > 8 else "****"
