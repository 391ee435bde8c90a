"""Documents shared by every function: the mapping, the tenant `config` and `credentials` (CONTRACT.md)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

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


# ---------------------------------------------------------------- bounds every model shares (issue 16, finding 3)
MAX_ID = 2**53  # beyond JavaScript's safe integers (Chatwoot's and the viewer's ids are JS numbers): not an id
MAX_COUNT = 10**9  # budgets, limits, counters: large enough for any real use, small enough to mean something
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")  # keeps \t, \n and \r for prose
_NAME_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def no_control(value: str) -> str:
    """Prose (a message, a greeting): no NUL or other control character; tab and line breaks are fine."""
    if _CONTROL.search(value):
        raise ValueError("must not contain NUL or other control characters")
    return value


def single_line(value: str) -> str:
    """A name: no control character at all, not even a line break."""
    if _NAME_CONTROL.search(value):
        raise ValueError("must not contain control characters or line breaks")
    return value


ChatwootId = Annotated[int, Field(ge=1, le=MAX_ID)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(single_line)]
Prose = Annotated[str, Field(max_length=1000), AfterValidator(no_control)]
Url = Annotated[str, Field(max_length=2048, pattern=r"^https?://[^\s]+$")]
Short = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(single_line)]
Keyword = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(single_line)]


def channel_from_chatwoot(value: str | None) -> str:
    """Chatwoot's `conversation.channel` ("Channel::Whatsapp") as one of ours; unknown ones are `api`."""
    return _CHATWOOT_CHANNELS.get(value or "", "api")


def check_identifier(value: str, name: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"{name} must be 1-64 characters of letters, digits, '_', '.', '-'")
    return value


DEFAULT_INSTALLATION = "default"
_INSTALLATION = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def check_installation(value: str) -> str:
    """A Chatwoot installation's short name: the path segment of `/webhooks/chatwoot/{installation}`."""
    if not _INSTALLATION.match(value):
        raise ValueError("installation must be 1-32 lower-case letters, digits, '_' or '-'")
    return value


Installation = Annotated[str, AfterValidator(check_installation)]


class Mapping(BaseModel):
    """Chatwoot installation + account (+ inbox, or every inbox when null) -> tenant. Account ids are per
    installation: two Chatwoot servers both have an account 1 (issue 16, finding 7)."""

    model_config = ConfigDict(extra="forbid")

    chatwoot_account_id: ChatwootId
    chatwoot_inbox_id: ChatwootId | None = None
    tenant_id: str
    domain: str = "default"
    channel: Channel | None = None
    installation: Installation = DEFAULT_INSTALLATION

    @field_validator("tenant_id", "domain")
    @classmethod
    def _ids(cls, value: str, info: object) -> str:
        return check_identifier(value, getattr(info, "field_name", "id"))


class Company(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: Name
    language: str = Field(default="pt-BR", min_length=2, max_length=35, pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
    timezone: str = Field(default="America/Sao_Paulo", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+/-]+$")


class Assistant(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: Annotated[str, Field(min_length=1, max_length=80), AfterValidator(single_line)] = "Assistente"
    greeting: Prose = ""
    style: Literal["friendly", "formal", "neutral", "technical"] = "friendly"
    emoji_usage: Literal["none", "low", "moderate", "high"] = "moderate"


class ChatwootSettings(BaseModel):
    model_config = ConfigDict(extra="allow")
    base_url: Url
    # Hosts (or ".suffix" domains) the attachments' storage redirect may point at, beyond the well-known clouds.
    storage_hosts: list[Annotated[str, Field(min_length=1, max_length=253, pattern=r"^\.?[A-Za-z0-9.-]+$")]] = \
        Field(default_factory=list, max_length=50)


class LlmSettings(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: Short | None = None
    base_url: Url | None = None
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    timeout_s: float = Field(default=30.0, gt=0, le=300)
    # Budgets (None: no cap). Over a cap the turn gets the extractive answer or a handoff, never a partial reply.
    max_calls_per_turn: Count | None = 4
    max_tokens_per_turn: Count | None = 12000
    max_calls_per_day: Count | None = None
    max_tokens_per_day: Count | None = None
    # OpenAI-compatible `POST {base_url}/audio/transcriptions` for voice notes Chatwoot did not transcribe.
    transcription_model: Short | None = None
    # A model that reads images (chat completions with an image part); without it a photo gets a friendly message.
    vision_model: Short | None = None


class OdooSettings(BaseModel):
    model_config = ConfigDict(extra="allow")
    url: Url
    db: Short
    username: Short
    protocol: Literal["xmlrpc", "json2"] = "xmlrpc"
    # Write tools (create_customer, create_quotation) only when the tenant turns them on.
    allow_write: bool = False
    timeout_s: float = Field(default=10.0, gt=0, le=60)


class Handoff(BaseModel):
    model_config = ConfigDict(extra="allow")
    keywords: list[Keyword] = Field(default_factory=lambda: ["atendente", "humano"], max_length=100)
    message: Prose = "Vou chamar um atendente."
    # What the customer reads when nothing in the tenant's data answers (empty: "Vou verificar com a equipe...").
    no_answer_message: Prose = ""
    min_confidence: float = Field(default=0.35, ge=0.0, le=1.0)
    # A message the bot cannot read (a sticker, a video, a file...) also goes to a human, after the short reply.
    on_unreadable_attachment: bool = False
    # A human takeover ends after this many minutes without a human reply (None: only when resolved/pending again).
    takeover_idle_minutes: float | None = Field(default=None, gt=0, le=60 * 24 * 365)


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
    days: list[int] = Field(max_length=7)
    start: str = Field(pattern=_HHMM)
    end: str = Field(pattern=_HHMM)

    _days = field_validator("days")(_check_days)


class BusinessHours(BaseModel):
    """In `company.timezone`; `periods` (split shifts, Saturday mornings) replaces days/start/end when given."""

    model_config = ConfigDict(extra="allow")
    days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], max_length=7)
    start: str = Field(default="09:00", pattern=_HHMM)
    end: str = Field(default="18:00", pattern=_HHMM)
    periods: list[OpeningPeriod] | None = Field(default=None, max_length=50)
    holidays: list[str] = Field(default_factory=list, max_length=400)
    closed_message: Prose = ""

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


class ChannelOverride(BaseModel):
    """A tenant's formatting override for one channel (conversation/channels.yaml holds the defaults)."""

    model_config = ConfigDict(extra="allow")
    max_length: int | None = Field(default=None, ge=1, le=100_000)


class TenantConfig(BaseModel):
    """The `config` document: behaviour, nothing secret. Unknown top-level fields are kept."""

    model_config = ConfigDict(extra="allow")

    company: Company
    assistant: Assistant = Field(default_factory=Assistant)
    enabled: bool = True
    enabled_collections: list[str] = Field(default_factory=lambda: list(DEFAULT_COLLECTIONS), max_length=50)
    chatwoot: ChatwootSettings | None = None
    llm: LlmSettings | None = None
    odoo: OdooSettings | None = None
    handoff: Handoff = Field(default_factory=Handoff)
    business_hours: BusinessHours | None = None
    insights: Insights = Field(default_factory=Insights)
    # Per-channel formatting overrides: {"whatsapp": {"max_length": 600, ...}}.
    channels: dict[str, ChannelOverride] = Field(default_factory=dict, max_length=20)

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
