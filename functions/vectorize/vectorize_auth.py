"""Who may call the Vectorize API: the admin key (X-Api-Key), or a tenant's own `vectorize_token` as a bearer token,
which only ever opens that tenant's data."""

from __future__ import annotations

import hmac

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from chatwoot_ai.api import header
from chatwoot_ai.config.tenants import DEFAULT_DOMAIN, resolve_domain
from chatwoot_ai.errors import ApiError, bad_request, unauthorized
from chatwoot_ai.models import check_identifier
from chatwoot_ai.settings import get_settings


def is_admin(app: APIGatewayHttpResolver) -> bool:
    expected = get_settings().admin_api_key.get_secret_value()
    given = header(app, "x-api-key")
    return bool(expected and given and hmac.compare_digest(given.encode(), expected.encode()))


def bearer_token(app: APIGatewayHttpResolver) -> str | None:
    value = header(app, "authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def tenant_tokens(tenant_id: str, domain: str | None) -> dict[str, str]:
    """domain -> vectorize_token: of the named domain, else of each of the tenant's domains."""
    from chatwoot_ai.config import get_config_cache

    cache = get_config_cache()
    tokens = {}
    for name in [domain] if domain else cache.domains(tenant_id) or [DEFAULT_DOMAIN]:
        credentials = cache.credentials(tenant_id, domain=name)
        secret = getattr(credentials, "vectorize_token", None) if credentials is not None else None
        if secret is not None and secret.get_secret_value():
            tokens[name] = secret.get_secret_value()
    return tokens


def authorize_tenant(app: APIGatewayHttpResolver, tenant_id: str) -> str:
    """"admin" or "tenant"; 401 when neither the admin key nor this tenant's vectorize token was sent. The token is
    the one of the domain named by `X-Domain`, or of the tenant's only domain; a tenant with several domains gets a
    400 listing them, but only once the token proved to be one of them (a stranger learns nothing)."""
    if is_admin(app):
        return "admin"  # vectors belong to the tenant, whatever the domain: the admin needs none
    token = bearer_token(app)
    if not token:
        raise unauthorized("send Authorization: Bearer <the tenant's vectorize_token>")
    named = header(app, "x-domain")
    if named:
        try:
            check_identifier(named, "X-Domain")
        except ValueError as exc:
            raise bad_request(str(exc), "X-Domain") from None
    tokens = tenant_tokens(tenant_id, named)
    if not any(hmac.compare_digest(token.encode(), expected.encode()) for expected in tokens.values()):
        # One answer for "unknown tenant", "no token configured" and "wrong token": nothing to probe with.
        raise unauthorized("the bearer token is not this tenant's vectorize_token")
    if not named:
        resolve_domain(tenant_id, None, "X-Domain")  # the 400 for a tenant with several domains
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
