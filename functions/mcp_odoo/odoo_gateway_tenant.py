"""Who is calling and which Odoo they get: admin key, `X-Tenant-Id` (+ `X-Domain` when the tenant has several
domains), the tenant's `odoo` config and `odoo_api_key` from the config cache, turned into the operations object
every route and tool uses."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from chatwoot_ai.config.tenants import resolve_domain
from chatwoot_ai.errors import bad_request, unauthorized
from chatwoot_ai.models import OdooSettings, check_identifier
from chatwoot_ai.odoo import OdooClient, OdooOperations, OdooTarget
from chatwoot_ai.odoo.tenant import odoo_target, tenant_odoo
from chatwoot_ai.settings import get_settings

# API Gateway gives up on an integration after 30 s: answer our own 504 before that, whatever the tenant asked for.
MAX_ODOO_TIMEOUT_S = 25.0


@dataclass(frozen=True)
class TenantOdoo:
    tenant_id: str
    domain: str
    settings: OdooSettings
    target: OdooTarget

    @property
    def allow_write(self) -> bool:
        return bool(self.settings.allow_write)

    def cache_ttl_s(self) -> float:
        extra = self.settings.model_extra or {}
        value = extra.get("cache_ttl_s", get_settings().odoo_cache_ttl_s)
        try:
            return max(0.0, float(value))
        except (TypeError, ValueError):
            return get_settings().odoo_cache_ttl_s

    def operations(self) -> OdooOperations:
        ttl = self.cache_ttl_s()
        client = OdooClient(self.target, allow_write=self.allow_write)
        return OdooOperations(client, cache_ttl_s=ttl, stock_ttl_s=min(ttl, get_settings().odoo_stock_cache_ttl_s))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name) or headers.get(name.lower())
    return value.strip() if value else None


def check_api_key(headers: Mapping[str, str]) -> None:
    """401 unless `X-Api-Key` equals ADMIN_API_KEY (constant time; an unset key locks everything)."""
    expected = get_settings().admin_api_key.get_secret_value()
    given = _header(headers, "x-api-key") or ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise unauthorized("X-Api-Key is missing or wrong")


def resolve_tenant(headers: Mapping[str, str]) -> TenantOdoo:
    """The caller's tenant and its Odoo, or the error that says what is missing."""
    check_api_key(headers)
    tenant_id = _header(headers, "x-tenant-id")
    if not tenant_id:
        raise bad_request("X-Tenant-Id header is required", "X-Tenant-Id", code="missing_tenant")
    named = _header(headers, "x-domain")  # optional when the tenant has one domain
    try:
        check_identifier(tenant_id, "X-Tenant-Id")
        if named:
            check_identifier(named, "X-Domain")
    except ValueError as exc:
        raise bad_request(str(exc), "X-Tenant-Id" if "Tenant" in str(exc) else "X-Domain") from None

    domain = resolve_domain(tenant_id, named, "X-Domain")
    odoo, api_key = tenant_odoo(tenant_id, domain, "X-Tenant-Id")
    target = odoo_target(odoo, api_key, min(odoo.timeout_s, MAX_ODOO_TIMEOUT_S))
    return TenantOdoo(tenant_id=tenant_id, domain=domain, settings=odoo, target=target)
