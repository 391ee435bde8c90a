"""Which Odoo data feeds which collection, per tenant: the `odoo.sources`, `odoo.webhook`, `odoo.sync_interval_min`
and `odoo.full_sync_every` parts of the tenant's `config` document (docs/vectorize.md, "Odoo data that stays fresh").

Defaults fit stock Odoo 16-19: products are `product.product` (variants; an automation rule on `product.template`
is mapped onto its variants), sellable and active, into `products`; no other model unless the tenant names one
(a knowledge or helpdesk model with a text field and a domain filter) into `support_documents`.
"""

from __future__ import annotations

import operator
import unicodedata
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chatwoot_ai.errors import ApiError, from_validation_error
from chatwoot_ai.models import TenantConfig, check_identifier

PRODUCT = "product.product"
TEMPLATE = "product.template"
PRODUCT_MODELS = (PRODUCT, TEMPLATE)
# An automation rule whose action name holds one of these (accents and case ignored) means "this record is being
# deleted": Odoo's "On deletion" trigger posts the same body as an update (the record is read before it goes).
DEFAULT_DELETE_WORDS = ("delet", "exclu", "remov", "remoc", "apag", "unlink")
_OPERATORS = ("=", "!=", "in", "not in", ">", "<", ">=", "<=")


def _check_domain(value: list[Any]) -> list[Any]:
    """A list of `[field, operator, value]` leaves, all of which must hold (Odoo's implicit '&')."""
    for leaf in value:
        if not (isinstance(leaf, list | tuple) and len(leaf) == 3 and isinstance(leaf[0], str)
                and leaf[1] in _OPERATORS):
            raise ValueError(f"each domain leaf is [field, operator, value] with an operator of {_OPERATORS}")
    return [list(leaf) for leaf in value]


class _Feed(BaseModel):
    """A source's target collection and its domain filter (Odoo's [field, operator, value] leaves)."""

    model_config = ConfigDict(extra="forbid")
    collection: str = "products"
    domain: list[Any] = Field(default_factory=list)

    _domain = field_validator("domain")(_check_domain)

    @field_validator("collection")
    @classmethod
    def _collection(cls, value: str) -> str:
        return check_identifier(value, "collection")


class ProductSource(_Feed):
    enabled: bool = True
    # `domain`: extra leaves on top of "sellable" (sale_ok), e.g. [["categ_id", "in", [4, 9]]].
    # The currency to name when a payload carries only the currency's id (webhook bodies are read with load=None).
    currency: str = "BRL"


class DocumentSource(_Feed):
    """Any Odoo model with a text field, e.g. {"model": "knowledge.article", "text_field": "body"}."""

    model: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
    text_field: str = Field(default="description", pattern=r"^[a-z_][a-z0-9_]*$")
    name_field: str = Field(default="name", pattern=r"^[a-z_][a-z0-9_]*$")
    collection: str = "support_documents"
    visibility: Literal["public", "internal"] = "public"


class Sources(BaseModel):
    model_config = ConfigDict(extra="forbid")
    products: ProductSource = Field(default_factory=ProductSource)
    documents: list[DocumentSource] = Field(default_factory=list, max_length=10)


class WebhookRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delete_actions: list[str] = Field(default_factory=lambda: list(DEFAULT_DELETE_WORDS), max_length=20)


class OdooFeeds(BaseModel):
    """What the tenant's Odoo feeds, and how often the scheduled sync reads it."""

    model_config = ConfigDict(extra="ignore")
    sources: Sources = Field(default_factory=Sources)
    webhook: WebhookRules = Field(default_factory=WebhookRules)
    sync_interval_min: int | None = Field(default=None, ge=1, le=1440)
    # Every Nth scheduled run reads everything and removes what Odoo deleted (ids compared); 1 = always full.
    full_sync_every: int = Field(default=12, ge=1, le=1000)

    def document_source(self, model: str) -> DocumentSource | None:
        return next((s for s in self.sources.documents if s.model == model), None)

    def is_delete_action(self, action: Any) -> bool:
        name = fold(action) if isinstance(action, str) else ""
        return bool(name) and any(fold(word) in name for word in self.webhook.delete_actions if word.strip())

    def collections(self) -> list[str]:
        names = [self.sources.products.collection] if self.sources.products.enabled else []
        return list(dict.fromkeys(names + [s.collection for s in self.sources.documents]))


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def odoo_feeds(config: TenantConfig | None) -> OdooFeeds:
    """The tenant's feeds from its `odoo` section (defaults when absent); 409 naming the bad part when invalid."""
    extra = (config.odoo.model_extra or {}) if config is not None and config.odoo is not None else {}
    try:
        return OdooFeeds.model_validate(extra)
    except ValidationError as exc:
        error = from_validation_error(exc, "odoo")
        raise ApiError(409, "invalid_odoo_sources", error.message, error.field) from exc


_COMPARE = {"=": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt, ">=": operator.ge,
            "<=": operator.le}


def _compare(have: Any, op: str, value: Any) -> bool:
    if op in ("in", "not in"):
        return (have in value) == (op == "in")
    return bool(_COMPARE[op](have, value))


def matches(row: dict[str, Any], domain: list[Any]) -> bool | None:
    """Whether the row meets every leaf; None when a leaf's field is not in the row (a webhook body carries only
    the fields the automation rule selected). Many2one values compare by id, in either read format."""
    for field, op, value in domain:
        if field not in row:
            return None
        have = row[field]
        if isinstance(have, list) and len(have) == 2 and isinstance(have[0], int):
            have = have[0]
        try:
            ok = _compare(have, op, value)
        except TypeError:
            ok = False
        if not ok:
            return False
    return True
