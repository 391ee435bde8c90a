"""The demo store (tests/fixtures/demo_store, the pt-BR Sandra Cosméticos) as POST /vectorize records: what
`make run` loads for its demo tenant, and what the retrieval evaluation searches."""

from __future__ import annotations

import json
from typing import Any

from devtools import DEMO_STORE


def _load(name: str) -> Any:
    return json.loads((DEMO_STORE / name).read_text(encoding="utf-8"))


def _money(value: float) -> str:
    return f"R$ {value:.2f}".replace(".", ",")


def product_records() -> list[dict[str, Any]]:
    """Products and aesthetic services (Odoo keeps services as products too), as POST /vectorize records."""
    out = []
    for p in _load("products.json")["products"]:
        text = (f"{p['name']}. {p['description']}. Benefícios: {p['benefits']}. "
                f"Modo de uso: {p['usage_instructions']} Categoria: {p['category']}. Preço: {_money(p['price'])}.")
        out.append({"id": str(p["id"]), "text": text,
                    "metadata": {"name": p["name"], "sku": p["sku"], "price": p["price"], "category": p["category"],
                                 "type": "product"}})
    for s in _load("services.json")["services"]:
        text = (f"{s['name']}. {s['description']}. Preparação: {s['preparation']} Cuidados após: {s['aftercare']} "
                f"Contraindicações: {s['contraindications']} Duração: {s['duration_min']} minutos. "
                f"Preço: {_money(s['price'])}.")
        out.append({"id": f"s{s['id']}", "text": text,
                    "metadata": {"name": s["name"], "price": s["price"], "category": s["category"],
                                 "type": "service"}})
    return out


def rule_records() -> list[dict[str, Any]]:
    return [{"id": str(r["id"]), "text": f"{r['name']}. {r['description']}. {r['rule_text']}",
             "metadata": {"name": r["name"], "category": r["category"],
                          "visibility": r.get("visibility", "public")}}
            for r in _load("business_rules.json")["rules"]]


def document_records() -> list[dict[str, Any]]:
    return [{"id": str(d["id"]), "text": f"{d['name']}. {d['rule_text']}",
             "metadata": {"name": d["name"], "category": d["category"]}}
            for d in _load("policy_documents.json")["documents"]]


def corpus() -> dict[str, list[dict[str, Any]]]:
    """collection -> records."""
    return {"products": product_records(), "business_rules": rule_records(), "support_documents": document_records()}
