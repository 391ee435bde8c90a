"""Request, response and message shapes of the Vectorize API (CONTRACT.md, docs/vectorize.md)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from chatwoot_ai.models import MAX_ID, check_identifier, no_control, single_line

SearchMode = Literal["hybrid", "dense", "sparse"]
JobState = Literal["queued", "running", "done", "failed"]

_COLLECTION = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_METADATA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def check_collection(value: str) -> str:
    if not _COLLECTION.match(value):
        raise ValueError("collection must be 1-63 lower-case letters, digits and '_', starting with a letter")
    if value.endswith("__reindex"):
        raise ValueError("collection names ending in '__reindex' are reserved for re-indexing")
    return value


TenantId = Annotated[str, AfterValidator(lambda value: check_identifier(value, "tenant_id"))]
DomainName = Annotated[str, AfterValidator(lambda value: check_identifier(value, "domain"))]
CollectionName = Annotated[str, AfterValidator(check_collection)]


def record_id_str(value: Any) -> str:
    """Odoo sends integer ids, scripts send strings: one canonical string either way."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("id must be a string or an integer")
    if isinstance(value, int) and not -MAX_ID <= value <= MAX_ID:
        raise ValueError(f"an integer id is at most {MAX_ID} in magnitude (Odoo ids are far smaller)")
    text = str(value).strip()
    if not text or len(text) > 128:
        raise ValueError("id must be 1-128 characters")
    return single_line(text)


class VectorRecord(BaseModel):
    """One Odoo record (a product, a rule, a document). `archived: true` (or `metadata.active: false`) removes it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    text: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    archived: bool = False
    # "internal": staff knowledge that may guide the LLM but is never quoted to a customer. Kept in the payload as
    # metadata.visibility (where the crew reads it); a value in metadata wins.
    visibility: Literal["public", "internal"] | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> str:
        return record_id_str(value)

    @model_validator(mode="after")
    def _visibility(self) -> VectorRecord:
        if self.visibility is not None:
            self.metadata.setdefault("visibility", self.visibility)
        return self

    @property
    def removed(self) -> bool:
        return self.archived or self.metadata.get("active") is False


class VectorizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: TenantId
    collection: CollectionName
    records: list[VectorRecord] = Field(default_factory=list)
    delete_ids: list[str] = Field(default_factory=list)

    @field_validator("delete_ids", mode="before")
    @classmethod
    def _delete_ids(cls, value: Any) -> list[str]:
        if not isinstance(value, list):
            raise ValueError("delete_ids must be a list of ids")
        return [record_id_str(item) for item in value]


class SyncRequest(BaseModel):
    """Pull mode: the whole product catalogue of a tenant's Odoo, fetched through the Odoo client."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: TenantId
    collection: CollectionName = "products"
    domain: DomainName | None = None  # None: the tenant's only domain (chatwoot_ai.config.tenants)
    # The scheduled sync's next run now: only what changed since its marks, products and the tenant's document
    # sources (chatwoot_ai.vector.odoo_sync); `collection` does not apply.
    incremental: bool = False


MetadataValue = str | int | float | bool


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: TenantId
    collection: CollectionName
    query: Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(no_control)]
    limit: int = Field(default=5, ge=1, le=50)
    mode: SearchMode = "hybrid"
    # Equality on the records' metadata (a list means any of). The tenant condition is added by us, always.
    filter: dict[str, MetadataValue | list[MetadataValue]] = Field(default_factory=dict)
    # The customer's previous message: a follow-up that cannot stand alone ("e quanto custa?") is searched with it.
    previous: Annotated[str, Field(max_length=2000), AfterValidator(no_control)] = ""
    # Hits below the collection's relevance threshold are left out (answerable false) unless asked for.
    include_below_threshold: bool = False

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must not be blank")
        return value

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not _METADATA_KEY.match(key):
                raise ValueError(f"filter key {key!r} is not a metadata field name")
        return value


class SearchHit(BaseModel):
    """One record found: `id` is the caller's record id, `text` the best-matching chunk of it. `score` ranks the hits
    of one search (fused, comparable only within it); `relevance` (0-1, calibrated) is comparable across searches and
    collections, and `relevant` says whether it reaches the collection's threshold."""

    id: str
    score: float
    text: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    relevance: float = 1.0
    relevant: bool = True


class CollectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CollectionName


class VectorizeMessage(BaseModel):
    """One SQS message of a job: a slice of its records (and, in part 0, its deletions)."""

    job_id: str
    tenant_id: str
    collection: str
    part: int
    records: list[VectorRecord] = Field(default_factory=list)
    delete_ids: list[str] = Field(default_factory=list)
