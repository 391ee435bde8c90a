"""A tenant's Odoo from the config cache: its `odoo` config and `odoo_api_key`, or the error naming what is missing.

Shared by the Odoo gateway (per request) and the vectorize pull mode (per sync); each picks its own time limit.
"""

from __future__ import annotations

from chatwoot_ai.errors import ApiError
from chatwoot_ai.models import OdooSettings
from chatwoot_ai.odoo.transport import OdooTarget


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
