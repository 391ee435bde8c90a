"""Odoo rows as vectorize records, one builder per kind, for every way a row arrives: read by the sync
(`search_read`: many2one as `[id, "name"]`) or posted by Odoo's "Send Webhook Notification" (`read(load=None)`:
many2one as a bare id). What a customer asks about goes in the text; the rest in metadata, where a change costs no
embedding (stock, for one)."""

from __future__ import annotations

import html
import re
from typing import Any

from chatwoot_ai.odoo.sources import PRODUCT, DocumentSource
from chatwoot_ai.vector.models import VectorRecord

PRODUCT_FIELDS = ["name", "display_name", "default_code", "list_price", "lst_price", "currency_id", "categ_id",
                  "description_sale", "description", "barcode", "product_tmpl_id", "sale_ok", "active", "type",
                  "is_storable", "qty_available", "write_date"]
_CURRENCY_SIGNS = {"BRL": "R$", "USD": "US$", "EUR": "€"}


def m2o_name(value: Any) -> str | None:
    return str(value[1]) if isinstance(value, list | tuple) and len(value) == 2 else None


def m2o_id(value: Any) -> int | None:
    if isinstance(value, list | tuple) and value:
        return int(value[0])
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def text_of(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""  # Odoo says False for empty


def html_text(value: Any) -> str:
    """An Odoo html field as plain text: block ends become line breaks, tags go, entities are decoded."""
    raw = text_of(value)
    raw = re.sub(r"(?i)</?(b|i|u|em|strong|span|a|small|sub|sup|font)\b[^>]*>", "", raw)  # inline: no gap
    raw = re.sub(r"(?i)<br\s*/?>|</(p|div|li|h[1-6]|tr)>", "\n", raw)
    raw = html.unescape(re.sub(r"<[^>]+>", " ", raw))
    lines = (" ".join(line.split()) for line in raw.splitlines())
    return "\n".join(line for line in lines if line)


def variant_label(row: dict[str, Any]) -> str | None:
    """The variant's attribute values ("M, Azul"): Odoo's display_name of a variant is "[code] name (values)"."""
    shown, name = text_of(row.get("display_name")), text_of(row.get("name"))
    code = text_of(row.get("default_code"))
    if code and shown.startswith(f"[{code}] "):
        shown = shown[len(code) + 3:]
    if name and shown.startswith(name + " (") and shown.endswith(")"):
        return shown[len(name) + 2:-1] or None
    return None


def _stock(row: dict[str, Any]) -> dict[str, Any]:
    """qty_available only where stock is tracked (Odoo 18+: is_storable; before: type 'product')."""
    if "qty_available" not in row:
        return {}
    tracked = bool(row.get("is_storable")) if "is_storable" in row else row.get("type") == "product"
    if not tracked:
        return {}
    qty = float(row.get("qty_available") or 0.0)
    return {"qty_available": qty, "in_stock": qty > 0}


def product_removed(row: dict[str, Any]) -> bool:
    """Archived or no longer sold: not for the assistant. Absent fields say nothing."""
    return row.get("active") is False or row.get("sale_ok") is False


def product_record(row: dict[str, Any], currency: str = "BRL", template_id: int | None = None) -> VectorRecord:
    """A product (a variant; a template's fields stand for its variants) as a vectorize record."""
    price = row.get("lst_price", row.get("list_price"))
    price = price if isinstance(price, int | float) and not isinstance(price, bool) else None
    category = m2o_name(row.get("categ_id"))
    currency_name = m2o_name(row.get("currency_id")) or currency
    variant = variant_label(row)
    parts = [text_of(row.get("name"))]
    if variant:
        parts.append(f"Variação: {variant}")
    for value in (text_of(row.get("description_sale")), text_of(row.get("description"))):
        if value and value not in parts:
            parts.append(value)
    if category:
        parts.append(f"Categoria: {category}")
    if price is not None:
        sign = _CURRENCY_SIGNS.get(currency_name, currency_name)
        parts.append(f"Preço: {sign} {price:.2f}".replace(".", ","))
    metadata = {"name": text_of(row.get("name")), "sku": text_of(row.get("default_code")) or None, "price": price,
                "currency": currency_name, "category": category, "odoo_model": PRODUCT,
                "template_id": template_id if template_id is not None else m2o_id(row.get("product_tmpl_id")),
                "variant": variant, **_stock(row)}
    return VectorRecord(id=str(row["id"]), text=". ".join(p.rstrip(". ") for p in parts if p) + ".",
                        metadata={k: v for k, v in metadata.items() if v is not None})


def document_id(model: str, record_id: int | str) -> str:
    """Records from Odoo models share their collection with pushed documents: their ids say where they came from,
    so a sync removes only its own."""
    return f"odoo:{model}:{record_id}"


def document_record(row: dict[str, Any], source: DocumentSource) -> VectorRecord:
    name = text_of(row.get(source.name_field))
    body = html_text(row.get(source.text_field))
    text = f"{name}\n\n{body}" if name and body else name or body
    return VectorRecord(id=document_id(source.model, row["id"]), text=text, visibility=source.visibility,
                        metadata={"name": name, "odoo_model": source.model, "odoo_id": row["id"]})
