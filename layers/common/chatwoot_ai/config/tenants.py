"""Which of a tenant's domains a caller means when it names only the tenant (the Odoo gateway's `X-Tenant-Id`, a
vectorize token, a sync): the one it names, else the tenant's only domain; with several, a 400 that lists them.

`default` used to be assumed, so a tenant whose documents live in one other domain was "not found" unless the caller
added the domain; with one domain there is nothing to choose.
"""

from __future__ import annotations

from chatwoot_ai.config.cache import ConfigCache
from chatwoot_ai.errors import ApiError

DEFAULT_DOMAIN = "default"


def resolve_domain(tenant_id: str, domain: str | None, field: str, cache: ConfigCache | None = None) -> str:
    """`domain` when given; else the tenant's only domain; `default` for a tenant with none (the caller's own
    not-found answer follows); 400 naming `field` when the tenant has several."""
    if domain:
        return domain
    if cache is None:
        from chatwoot_ai.config import get_config_cache

        cache = get_config_cache()
    domains = cache.domains(tenant_id)
    if len(domains) > 1:
        raise ApiError(400, "domain_required",
                       f"tenant {tenant_id!r} has {len(domains)} domains ({', '.join(domains)}): name one with "
                       f"{field}", field)
    return domains[0] if domains else DEFAULT_DOMAIN
