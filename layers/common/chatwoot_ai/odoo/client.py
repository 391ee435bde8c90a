"""The only door to a tenant's Odoo: a fixed allow-list of (model, method), a deadline for the whole operation, and
field discovery so one code path serves Odoo 16 to 19 with or without the stock module.

There is no public `execute_kw`: callers get `search_read`, `read`, `fields`, `create`; `create` only on the models
the write tools need, and only when the tenant turned writes on.
"""

from __future__ import annotations

import time
from typing import Any

from chatwoot_ai.odoo.faults import not_allowed, odoo_timeout, write_disabled
from chatwoot_ai.odoo.pool import ConnectionPool, get_pool
from chatwoot_ai.odoo.transport import OdooTarget

READ_MODELS: frozenset[str] = frozenset({
    "product.product", "product.template", "product.category", "res.partner", "sale.order", "sale.order.line",
})
READ_METHODS: frozenset[str] = frozenset({"search_read", "read", "fields_get", "search_count"})
WRITE_CALLS: frozenset[tuple[str, str]] = frozenset({("res.partner", "create"), ("sale.order", "create")})
FIELDS_TTL_S = 600.0


class OdooClient:
    """One operation's view of a tenant's Odoo. Cheap to create per request; the pool is what lives on."""

    def __init__(self, target: OdooTarget, *, allow_write: bool = False, pool: ConnectionPool | None = None,
                 clock: Any = time.monotonic, read_models: frozenset[str] = frozenset()) -> None:
        self.target = target
        self.allow_write = allow_write
        # The vectorize sync also reads the models a tenant's admin named as document sources (config, not a model's
        # choice); the gateway never passes any.
        self.read_models = READ_MODELS | read_models
        self.pool = pool or get_pool()
        self._clock = clock
        self._deadline = clock() + target.timeout_s

    def _remaining(self) -> float:
        remaining = self._deadline - self._clock()
        if remaining <= 0:
            raise odoo_timeout(self.target.timeout_s)
        return remaining

    def _execute(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if (model, method) in WRITE_CALLS:
            if not self.allow_write:
                raise write_disabled(f"{method} on {model}")
        elif model not in self.read_models or method not in READ_METHODS:
            raise not_allowed(model, method)
        with self.pool.lease(self.target) as conn:
            return conn.execute(model, method, args, kwargs, self._remaining())

    def fields(self, model: str) -> frozenset[str]:
        """The model's field names, asked once per target every 10 minutes in a warm instance (Odoo 18 added
        `is_storable` and dropped `res.partner.mobile`; `qty_available` exists only with the stock module)."""
        shared = self.pool.shared(self.target)
        found = shared.fields.get(model)
        now = self._clock()
        if found is None or now - found[0] > FIELDS_TTL_S:
            found = (now, frozenset(self._execute(model, "fields_get", [], {"attributes": ["type"]})))
            shared.fields[model] = found
        return found[1]

    def existing(self, model: str, wanted: list[str]) -> list[str]:
        have = self.fields(model)
        return [name for name in wanted if name in have]

    def search_read(self, model: str, domain: list[Any], fields: list[str], *, limit: int | None = None,
                    order: str | None = None) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"fields": fields}
        if limit:
            kwargs["limit"] = limit
        if order:
            kwargs["order"] = order
        return list(self._execute(model, "search_read", [domain], kwargs))

    def read(self, model: str, ids: list[int], fields: list[str]) -> list[dict[str, Any]]:
        return list(self._execute(model, "read", [ids], {"fields": fields}))

    def create(self, model: str, values: dict[str, Any]) -> int:
        return int(self._execute(model, "create", [values], {}))
