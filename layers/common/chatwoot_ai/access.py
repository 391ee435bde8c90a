"""Who is calling, and what they may reach: the one place every HTTP route asks.

    from chatwoot_ai.access import caller, require_admin_access, require_tenant_access

    who = require_tenant_access(event_headers, tenant_id)   # 401 no/unknown/revoked key; 403 another tenant's key
    who.is_admin, who.tenant_id, who.key_id                   # who.kind: "admin" | "tenant_key" | "identity"
    require_admin_access(event_headers)                      # admin-only routes: 401, or 403 for a tenant key

Credentials (README "Security model"):
- the admin key (`ADMIN_API_KEY`), sent as `X-Api-Key`: every tenant, every route;
- a tenant key (`cak_<key_id>_<secret>`, chatwoot_ai.config.api_keys), also sent as `X-Api-Key`: only the routes of
  its own tenant (configs, Odoo gateway, vectorize and search); never the admin-only ones (tenant list, mapping, key
  creation, collections). Checked against its hashed item on every call (one GetItem), so a revoked key is refused
  at once;
- a customer identity (chatwoot_ai.identity), sent by the conversation worker as `X-Customer-Identity`: accepted
  only where a route asks for it (`identity=True`: the Odoo gateway), for the tenant it names; the gateway then
  answers order and customer lookups for that customer only.
The vectorize token (a bearer token per tenant) stays the vectorize routes' own (routes.vectorize.authorize_tenant).

Errors: 401 `unauthorized` when no credential or an unknown one was sent; 403 `forbidden` when a valid tenant
credential names another tenant or an admin-only route.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from chatwoot_ai import aws
from chatwoot_ai.api import header, is_admin
from chatwoot_ai.config.api_keys import ApiKeyStore, looks_like_tenant_key
from chatwoot_ai.errors import ApiError, unauthorized
from chatwoot_ai.identity import IDENTITY_HEADER, CustomerIdentity, verify_identity
from chatwoot_ai.memo import per_settings
from chatwoot_ai.settings import Settings

CallerKind = Literal["admin", "tenant_key", "identity"]


@dataclass(frozen=True)
class Caller:
    kind: CallerKind
    tenant_id: str | None = None  # None for the admin
    key_id: str | None = None  # a tenant key's id
    identity: CustomerIdentity | None = None  # the verified customer of an identity token

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"

    def may_access(self, tenant_id: str) -> bool:
        return self.is_admin or self.tenant_id == tenant_id

    def describe(self) -> str:
        """Who wrote or read something, for logs and history: "admin", "tenant_key:<id>", "identity"."""
        return f"tenant_key:{self.key_id}" if self.kind == "tenant_key" else self.kind


ADMIN = Caller("admin")


@per_settings
def api_keys(settings: Settings) -> ApiKeyStore:
    return ApiKeyStore(aws.client("dynamodb"), settings.resources.config_table)


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def caller(headers: Mapping[str, str] | None, *, identity: bool = False) -> Caller:
    """The caller these headers prove, or 401. With `identity`, a valid `X-Customer-Identity` token wins over any
    key (the call is then bound to that customer); without it the header is ignored."""
    if identity:
        token = header(headers, IDENTITY_HEADER)
        if token:
            verified = verify_identity(token)
            if verified is None:
                raise unauthorized(f"{IDENTITY_HEADER} is invalid or expired")
            return Caller("identity", tenant_id=verified.tenant_id, identity=verified)
    if is_admin(headers):
        return ADMIN
    key = header(headers, "x-api-key")
    if key and looks_like_tenant_key(key):
        record = api_keys().verify(key)
        if record is not None:
            return Caller("tenant_key", tenant_id=record.tenant_id, key_id=record.key_id)
        raise unauthorized("the API key is unknown or was revoked")
    raise unauthorized("X-Api-Key is missing or wrong")


def require_admin_access(headers: Mapping[str, str] | None) -> Caller:
    """The admin, or 401 (no or unknown key) / 403 (a tenant key: this route is the admin's only)."""
    who = caller(headers)
    if not who.is_admin:
        raise forbidden("this route needs the admin key; a tenant key reaches only its own tenant's routes")
    return who


def require_tenant_access(headers: Mapping[str, str] | None, tenant_id: str, *, identity: bool = False) -> Caller:
    """The admin or a credential of `tenant_id`, or 401 / 403 (a valid credential of another tenant)."""
    who = caller(headers, identity=identity)
    if not who.may_access(tenant_id):
        raise forbidden(f"this credential does not open tenant {tenant_id!r}")
    return who
