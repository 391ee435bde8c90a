"""The seven things the gateway does in a tenant's Odoo, each returning compact JSON a model can read.

Odoo's quirks stop here: `False` for empty becomes null (booleans excepted), many2one `[id, "name"]` becomes the name
(and the id where it matters), products are `product.product` (what an order line needs; the template id rides
along), stock is reported only when it is tracked (`is_storable` in Odoo 18+, `type == "product"` before, and only
with the stock module, which adds `qty_available`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from chatwoot_ai.errors import bad_request, not_found
from chatwoot_ai.models import Name, no_control, single_line
from chatwoot_ai.odoo.client import OdooClient
from chatwoot_ai.odoo.faults import write_disabled
from chatwoot_ai.odoo.pool import slot_key
from chatwoot_ai.odoo.read_cache import TtlCache, get_read_cache

PRODUCT = "product.product"
PARTNER = "res.partner"
ORDER = "sale.order"
ORDER_LINE = "sale.order.line"

PRODUCT_FIELDS = ["name", "default_code", "list_price", "lst_price", "currency_id", "categ_id", "type",
                  "is_storable", "qty_available", "sale_ok", "product_tmpl_id", "uom_id"]
PRODUCT_DETAIL_FIELDS = [*PRODUCT_FIELDS, "description_sale", "barcode", "virtual_available"]
PARTNER_FIELDS = ["name", "email", "phone", "mobile", "city"]
ODOO_MAX_ID = 2**31 - 1  # Odoo's ids are PostgreSQL integers
ORDER_STATES = {"draft": "Orçamento", "sent": "Orçamento enviado", "sale": "Pedido confirmado",
                "done": "Concluído", "cancel": "Cancelado"}


# ------------------------------------------------------------------ inputs


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: Name
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, max_length=40, pattern=r"^[+()\d\s.-]{8,40}$")
    city: Annotated[str, Field(max_length=120), AfterValidator(single_line)] | None = None


class QuotationLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: int = Field(ge=1, le=ODOO_MAX_ID, description="product id from search_products / get_product")
    quantity: float = Field(default=1, gt=0, le=10_000)


class QuotationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: int = Field(ge=1, le=ODOO_MAX_ID, description="customer id from find_customer / create_customer")
    lines: list[QuotationLine] = Field(min_length=1, max_length=50)
    note: Annotated[str, Field(max_length=2000), AfterValidator(no_control)] | None = None


# ------------------------------------------------------------------ Odoo values


def nz(value: Any) -> Any:
    """Odoo's False-for-empty as None (only for non-boolean fields: call it on those)."""
    return None if value is False else value


def m2o_name(value: Any) -> str | None:
    return str(value[1]) if isinstance(value, list | tuple) and len(value) == 2 else None


def m2o_id(value: Any) -> int | None:
    return int(value[0]) if isinstance(value, list | tuple) and value else None


def digits(value: Any) -> str:
    return re.sub(r"\D", "", value) if isinstance(value, str) else ""


# ------------------------------------------------------------------ operations


class OdooOperations:
    def __init__(self, client: OdooClient, *, cache: TtlCache | None = None, cache_ttl_s: float = 30.0,
                 stock_ttl_s: float = 10.0) -> None:
        self.client = client
        self.cache = cache or get_read_cache()
        self.cache_ttl_s = cache_ttl_s
        self.stock_ttl_s = stock_ttl_s
        self._scope = slot_key(client.target)

    # ---- products

    def _stock(self, record: dict[str, Any]) -> dict[str, Any]:
        fields = self.client.fields(PRODUCT)
        if "qty_available" not in fields:
            return {"tracked": False, "qty_available": None, "in_stock": None,
                    "note": "the stock module is not installed in this Odoo"}
        storable = bool(record.get("is_storable")) if "is_storable" in fields else record.get("type") == "product"
        if not storable:
            return {"tracked": False, "qty_available": None, "in_stock": None,
                    "note": "stock is not tracked for this product"}
        qty = float(record.get("qty_available") or 0.0)
        return {"tracked": True, "qty_available": qty, "in_stock": qty > 0}

    def _product(self, record: dict[str, Any], detail: bool = False) -> dict[str, Any]:
        price = record.get("lst_price", record.get("list_price"))
        out: dict[str, Any] = {
            "id": record["id"],
            "name": record.get("name"),
            "sku": nz(record.get("default_code")),
            "price": price if isinstance(price, int | float) and not isinstance(price, bool) else None,
            "currency": m2o_name(record.get("currency_id")),
            "category": m2o_name(record.get("categ_id")),
        }
        stock = self._stock(record)
        out["in_stock"] = stock["in_stock"]
        if stock["tracked"]:
            out["qty_available"] = stock["qty_available"]
        if detail:
            out["description"] = nz(record.get("description_sale"))
            out["barcode"] = nz(record.get("barcode"))
            out["unit"] = m2o_name(record.get("uom_id"))
            out["template_id"] = m2o_id(record.get("product_tmpl_id"))
            out["stock"] = stock
        return out

    def search_products(self, query: str, limit: int = 5) -> dict[str, Any]:
        query = " ".join((query or "").split())[:200]
        limit = max(1, min(int(limit), 50))

        def load() -> dict[str, Any]:
            fields = self.client.existing(PRODUCT, PRODUCT_FIELDS)
            words = query.split()[:6]
            base: list[Any] = [("sale_ok", "=", True)]
            by_name: list[Any] = list(base)
            for word in words:
                by_name += ["|", ("name", "ilike", word), ("default_code", "ilike", word)]
            rows = self.client.search_read(PRODUCT, by_name, fields, limit=limit, order="name")
            if not rows and words:
                # Nothing by name or code: a description may still mention it ("vitamina c", "oleosa").
                by_text: list[Any] = list(base)
                for word in words:
                    by_text.append(("description_sale", "ilike", word))
                rows = self.client.search_read(PRODUCT, by_text, fields, limit=limit, order="name")
            products = [self._product(r) for r in rows]
            return {"query": query, "count": len(products), "products": products}

        return self.cache.get_or_load((self._scope, "search_products", query.lower(), limit), self.cache_ttl_s, load)

    def _product_record(self, product_id: int, fields: list[str]) -> dict[str, Any]:
        rows = self.client.search_read(PRODUCT, [("id", "=", int(product_id))], fields, limit=1)
        if not rows:
            raise not_found(f"no product with id {product_id}", "product_id")
        return rows[0]

    def get_product(self, product_id: int) -> dict[str, Any]:
        def load() -> dict[str, Any]:
            record = self._product_record(product_id, self.client.existing(PRODUCT, PRODUCT_DETAIL_FIELDS))
            return self._product(record, detail=True)

        return self.cache.get_or_load((self._scope, "get_product", int(product_id)), self.cache_ttl_s, load)

    def check_stock(self, product_id: int) -> dict[str, Any]:
        def load() -> dict[str, Any]:
            fields = self.client.existing(PRODUCT, ["name", "type", "is_storable", "qty_available",
                                                    "virtual_available", "default_code"])
            record = self._product_record(product_id, fields)
            out = {"product_id": record["id"], "name": record.get("name"), "sku": nz(record.get("default_code")),
                   **self._stock(record)}
            if out["tracked"] and "virtual_available" in record:
                out["forecast"] = float(record.get("virtual_available") or 0.0)
            return out

        return self.cache.get_or_load((self._scope, "check_stock", int(product_id)), self.stock_ttl_s, load)

    # ---- customers

    def _partner(self, record: dict[str, Any]) -> dict[str, Any]:
        phone = nz(record.get("phone")) or nz(record.get("mobile"))
        return {"id": record["id"], "name": record.get("name"), "email": nz(record.get("email")),
                "phone": phone, "city": nz(record.get("city"))}

    def find_customer(self, phone: str | None = None, email: str | None = None) -> dict[str, Any]:
        phone = (phone or "").strip() or None
        email = (email or "").strip() or None
        if bool(phone) == bool(email):
            raise bad_request("give exactly one of phone or email", "phone" if phone else "email")
        fields = self.client.existing(PARTNER, PARTNER_FIELDS)
        if email:
            rows = self.client.search_read(PARTNER, [("email", "=ilike", email)], fields, limit=10)
        else:
            wanted = digits(phone)
            if len(wanted) < 8:
                raise bad_request("phone needs at least 8 digits", "phone")
            # Odoo keeps phones as typed ("+55 11 98765-4321", "(11) 98765-4321"): narrow by the last 4 digits,
            # which survive any formatting, then compare the last 8 digits.
            tail = wanted[-4:]
            domain: list[Any] = [("phone", "ilike", tail)]
            if "mobile" in fields:
                domain = ["|", ("phone", "ilike", tail), ("mobile", "ilike", tail)]
            rows = [r for r in self.client.search_read(PARTNER, domain, fields, limit=100)
                    if any(digits(r.get(k))[-8:] == wanted[-8:] for k in ("phone", "mobile") if r.get(k))]
        customers = [self._partner(r) for r in rows[:10]]
        return {"count": len(customers), "customers": customers}

    def create_customer(self, data: CustomerIn) -> dict[str, Any]:
        if not self.client.allow_write:
            raise write_disabled("create_customer")
        if data.email:
            existing = self.find_customer(email=data.email)["customers"]
            if existing:
                return {"created": False, "customer": existing[0]}
        values: dict[str, Any] = {"name": data.name, "customer_rank": 1}
        for key in ("email", "phone", "city"):
            value = getattr(data, key)
            if value:
                values[key] = value
        known = self.client.fields(PARTNER)  # customer_rank comes with the account module
        new_id = self.client.create(PARTNER, {k: v for k, v in values.items() if k in known})
        return {"created": True, "customer": {"id": new_id, "name": data.name, "email": data.email,
                                              "phone": data.phone, "city": data.city}}

    # ---- orders

    def get_order_status(self, ref: str) -> dict[str, Any]:
        ref = (ref or "").strip()
        if not ref or len(ref) > 64:
            raise bad_request("ref is the order reference, e.g. S00012", "ref")
        fields = self.client.existing(ORDER, ["name", "state", "date_order", "amount_total", "currency_id",
                                              "partner_id", "invoice_status", "client_order_ref"])
        domain: list[Any] = ["|", ("name", "=", ref), ("client_order_ref", "=", ref)]
        rows = self.client.search_read(ORDER, domain, fields, limit=1)
        if not rows:
            raise not_found(f"no order {ref!r}", "ref")
        order = rows[0]
        lines = self.client.search_read(ORDER_LINE, [("order_id", "=", order["id"])],
                                        ["product_id", "product_uom_qty", "price_unit", "price_subtotal"])
        state = str(order.get("state") or "")
        return {
            "id": order["id"],
            "ref": order.get("name"),
            "state": state,
            "status": ORDER_STATES.get(state, state),
            "date": nz(order.get("date_order")),
            "customer": m2o_name(order.get("partner_id")),
            "customer_id": m2o_id(order.get("partner_id")),
            "total": order.get("amount_total"),
            "currency": m2o_name(order.get("currency_id")),
            "invoice_status": nz(order.get("invoice_status")),
            "lines": [{"product": m2o_name(line.get("product_id")), "product_id": m2o_id(line.get("product_id")),
                       "quantity": line.get("product_uom_qty"), "unit_price": line.get("price_unit"),
                       "subtotal": line.get("price_subtotal")} for line in lines],
        }

    def create_quotation(self, data: QuotationIn) -> dict[str, Any]:
        if not self.client.allow_write:
            raise write_disabled("create_quotation")
        customers = self.client.search_read(PARTNER, [("id", "=", data.customer_id)], ["name"], limit=1)
        if not customers:
            raise not_found(f"no customer with id {data.customer_id}", "customer_id")
        ids = sorted({line.product_id for line in data.lines})
        found = {r["id"] for r in self.client.search_read(
            PRODUCT, [("id", "in", ids), ("sale_ok", "=", True)], ["name"], limit=len(ids))}
        for index, line in enumerate(data.lines):
            if line.product_id not in found:
                raise not_found(f"no product with id {line.product_id} for sale", f"lines.{index}.product_id")
        values: dict[str, Any] = {
            "partner_id": data.customer_id,
            "order_line": [[0, 0, {"product_id": line.product_id, "product_uom_qty": line.quantity}]
                           for line in data.lines],
        }
        if data.note:
            values["note"] = data.note
        order_id = self.client.create(ORDER, values)
        rows = self.client.search_read(ORDER, [("id", "=", order_id)],
                                       ["name", "state", "amount_total", "currency_id"], limit=1)
        order = rows[0] if rows else {"name": None, "state": "draft"}
        state = str(order.get("state") or "draft")
        return {"id": order_id, "ref": order.get("name"), "state": state, "status": ORDER_STATES.get(state, state),
                "total": order.get("amount_total"), "currency": m2o_name(order.get("currency_id")),
                "customer": customers[0].get("name"),
                "lines": len(data.lines)}
