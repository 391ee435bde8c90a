"""A tenant's Odoo from the config cache: its `odoo` config and `odoo_api_key`, or the error naming what is missing.

Shared by the Odoo gateway (per request: `resolve_tenant` from the caller's headers) and the vectorize pull mode (per
sync); each picks its own time limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chatwoot_ai.access import caller, forbidden
from chatwoot_ai.api import header
from chatwoot_ai.errors import ApiError, bad_request
from chatwoot_ai.identity import CustomerIdentity
from chatwoot_ai.models import OdooSettings, check_identifier
from chatwoot_ai.odoo.bound import CustomerBoundOperations
from chatwoot_ai.odoo.client import OdooClient
from chatwoot_ai.odoo.operations import OdooOperations
from chatwoot_ai.odoo.transport import OdooTarget
from chatwoot_ai.settings import get_settings


def tenant_odoo(tenant_id: str, domain: str | None, tenant_field: str, domain_field: str = "domain"
                ) -> tuple[OdooSettings, str]:
    """(odoo settings, api key) of the named domain, or of the tenant's only one when `domain` is None (400 naming
    `domain_field` when it has several); 404 naming `tenant_field` without a config, 409 without Odoo or its key."""
    from chatwoot_ai.config import get_config_cache
    from chatwoot_ai.config.tenants import resolve_domain

    cache = get_config_cache()
    domain = resolve_domain(tenant_id, domain, domain_field, cache)
    config = cache.config(tenant_id, domain=domain)
    if config is None:
        raise ApiError(404, "tenant_not_found", f"tenant {tenant_id!r} (domain {domain!r}) has no config",
                       tenant_field)
    if config.odoo is None:
        raise ApiError(409, "odoo_not_configured", f"tenant {tenant_id!r} has no odoo section in its config", "odoo")
    credentials = cache.credentials(tenant_id, domain=domain)
    api_key = credentials.odoo_api_key if credentials is not None else None
    if api_key is None or not api_key.get_secret_value():
        raise ApiError(409, "odoo_not_configured", f"tenant {tenant_id!r} has no odoo_api_key in its credentials",
                       "odoo_api_key")
    return config.odoo, api_key.get_secret_value()


def odoo_target(odoo: OdooSettings, api_key: str, timeout_s: float) -> OdooTarget:
    return OdooTarget(url=odoo.url, db=odoo.db, username=odoo.username, api_key=api_key, protocol=odoo.protocol,
                      timeout_s=timeout_s)


# API Gateway gives up on an integration after 30 s: answer our own 504 before that, whatever the tenant asked for.
MAX_ODOO_TIMEOUT_S = 25.0


@dataclass(frozen=True)
class TenantOdoo:
    tenant_id: str
    domain: str
    settings: OdooSettings
    target: OdooTarget
    # Set when the caller is a conversation worker speaking for a customer: lookups answer for that customer only.
    customer: CustomerIdentity | None = None

    @property
    def allow_write(self) -> bool:
        return bool(self.settings.allow_write)

    def cache_ttl_s(self) -> float:
        extra = self.settings.model_extra or {}
        value = extra.get("cache_ttl_s", get_settings().odoo.cache_ttl_s)
        try:
            return max(0.0, float(value))
        except (TypeError, ValueError):
            return get_settings().odoo.cache_ttl_s

    def operations(self) -> OdooOperations | CustomerBoundOperations:
        ttl = self.cache_ttl_s()
        client = OdooClient(self.target, allow_write=self.allow_write)
        ops = OdooOperations(client, cache_ttl_s=ttl, stock_ttl_s=min(ttl, get_settings().odoo.stock_cache_ttl_s))
        if self.customer is None:
            return ops
        return CustomerBoundOperations(ops, self.customer)


def resolve_tenant(headers: Mapping[str, str]) -> TenantOdoo:
    """The caller's tenant and its Odoo, or the error that says what is missing. Callers (chatwoot_ai.access): the
    admin key, the tenant's own key, or a signed customer identity of the tenant (then bound to that customer)."""
    who = caller(headers, identity=True)
    tenant_id = header(headers, "x-tenant-id") or (who.tenant_id if who.identity else None)
    if not tenant_id:
        raise bad_request("X-Tenant-Id header is required", "X-Tenant-Id", code="missing_tenant")
    named = header(headers, "x-domain")  # optional when the tenant has one domain
    try:
        check_identifier(tenant_id, "X-Tenant-Id")
        if named:
            check_identifier(named, "X-Domain")
    except ValueError as exc:
        raise bad_request(str(exc), "X-Tenant-Id" if "Tenant" in str(exc) else "X-Domain") from None

    if not who.may_access(tenant_id):
        raise forbidden(f"this credential does not open tenant {tenant_id!r}")
    if who.identity is not None:
        if named and named != who.identity.domain:
            raise forbidden(f"this identity does not open domain {named!r}")
        named = who.identity.domain

    from chatwoot_ai.config.tenants import resolve_domain

    domain = resolve_domain(tenant_id, named, "X-Domain")
    odoo, api_key = tenant_odoo(tenant_id, domain, "X-Tenant-Id")
    target = odoo_target(odoo, api_key, min(odoo.timeout_s, MAX_ODOO_TIMEOUT_S))
    return TenantOdoo(tenant_id=tenant_id, domain=domain, settings=odoo, target=target, customer=who.identity)
