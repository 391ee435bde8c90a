"""Who may call the Vectorize API: the admin key (X-Api-Key), or a tenant's own `vectorize_token` as a bearer token,
which only ever opens that tenant's data."""

from __future__ import annotations

import hmac

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from chatwoot_ai.api import header
from chatwoot_ai.errors import ApiError, unauthorized
from chatwoot_ai.settings import get_settings

CREDENTIALS_DOMAIN = "default"


def is_admin(app: APIGatewayHttpResolver) -> bool:
    expected = get_settings().admin_api_key.get_secret_value()
    given = header(app, "x-api-key")
    return bool(expected and given and hmac.compare_digest(given.encode(), expected.encode()))


def bearer_token(app: APIGatewayHttpResolver) -> str | None:
    value = header(app, "authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def tenant_token(tenant_id: str) -> str | None:
    from chatwoot_ai.config import get_config_cache

    credentials = get_config_cache().credentials(tenant_id, domain=CREDENTIALS_DOMAIN)
    secret = getattr(credentials, "vectorize_token", None) if credentials is not None else None
    return secret.get_secret_value() if secret is not None else None


def authorize_tenant(app: APIGatewayHttpResolver, tenant_id: str) -> str:
    """"admin" or "tenant"; 401 when neither the admin key nor this tenant's vectorize token was sent."""
    if is_admin(app):
        return "admin"
    token = bearer_token(app)
    if not token:
        raise unauthorized("send Authorization: Bearer <the tenant's vectorize_token>")
    expected = tenant_token(tenant_id)
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        # One answer for "unknown tenant", "no token configured" and "wrong token": nothing to probe with.
        raise unauthorized("the bearer token is not this tenant's vectorize_token")
    return "tenant"


def require_admin_or_tenant(app: APIGatewayHttpResolver, tenant_id: str | None) -> str:
    """Listing endpoints: the admin sees everything; a tenant must name itself."""
    if is_admin(app):
        return "admin"
    if not tenant_id:
        if bearer_token(app):
            raise ApiError(422, "validation_error", "tenant_id is required with a tenant token", "tenant_id")
        raise unauthorized("X-Api-Key is missing or wrong")
    return authorize_tenant(app, tenant_id)
