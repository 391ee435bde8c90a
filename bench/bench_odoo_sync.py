"""Odoo data freshness on the local stack against the Odoo double (docs/vectorize.md, "Odoo data that stays fresh"):

- webhook path: from a price change in Odoo (the double's `write`, then the body Odoo's "Send Webhook Notification"
  posts, sent at once as Odoo does after its commit) to a search that returns the new price; and how long the 202
  takes (Odoo waits 1 s);
- scheduled path: from a price change to a search that returns it, when the incremental sync runs (started with
  `POST /vectorize/sync {"incremental": true}`, the schedule's next run now); the schedule itself adds up to its
  period (5 minutes) plus the tenant's `sync_interval_min`, which is not measured here;
- records read from Odoo by an incremental run with one change against the full run, over the demo catalogue grown
  to 215 products.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from bench.figures import Figure, median

EXTRA_PRODUCTS = 200
HOOK_FIELDS = ["name", "description_sale", "list_price", "default_code", "categ_id", "currency_id", "active",
               "sale_ok", "product_variant_ids", "write_date"]
ADJECTIVES = ["Suave", "Intenso", "Leve", "Noturno", "Diário", "Matte", "Natural", "Premium", "Compacto", "Fresh"]
KINDS = ["Hidratante Corporal", "Óleo Capilar", "Shampoo Antiqueda", "Batom Líquido", "Base Fluida", "Perfume",
         "Condicionador", "Esfoliante Corporal", "Sabonete Líquido", "Máscara Capilar"]


def _grow(odoo: Any, count: int) -> None:
    """More templates (one variant each) in the double, like a shop's catalogue beyond the demo's 15 products."""
    template = dict(next(iter(odoo.records["product.template"].values())))
    for index in range(count):
        tmpl_id, pid = 1000 + index, 2000 + index
        name = f"{KINDS[index % len(KINDS)]} {ADJECTIVES[index // len(KINDS) % len(ADJECTIVES)]} {index}"
        record = {**template, "id": tmpl_id, "name": name, "display_name": name, "default_code": f"SYN-{index:04d}",
                  "description_sale": f"{name}: fórmula vegana, para uso diário, embalagem de {50 + index} ml.",
                  "list_price": float(20 + index % 90), "product_variant_ids": [pid]}
        odoo.records["product.template"][tmpl_id] = record
        variant = {k: v for k, v in record.items() if k != "product_variant_ids"}
        odoo.records["product.product"][pid] = {**variant, "id": pid, "lst_price": record["list_price"],
                                                "product_tmpl_id": [tmpl_id, name]}


def _wait_job(ctx: Any, job_id: str, headers: dict[str, str], timeout: float = 600.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = httpx.get(f"{ctx.cloud.url}/vectorize/jobs/{job_id}", headers=headers, timeout=30).json()
        if job.get("status") in ("done", "failed"):
            return dict(job)
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} not finished: {job}")
        time.sleep(0.05)


def _wait_price(ctx: Any, tenant_id: str, headers: dict[str, str], sku: str, price: float,
                timeout: float = 120.0) -> None:
    """Polls /search (every 50 ms) until the product with this SKU comes back with this price."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.post(f"{ctx.cloud.url}/search", headers=headers, timeout=30, json={
            "tenant_id": tenant_id, "collection": "products", "query": "protetor solar facial", "limit": 1,
            "filter": {"sku": sku}, "include_below_threshold": True})
        hits = response.json().get("results", [])
        if hits and hits[0]["metadata"].get("price") == price:
            return
        time.sleep(0.05)
    raise RuntimeError(f"{sku} never showed price {price}")


def run(ctx: Any) -> list[Figure]:
    from devtools.doubles import OdooDouble

    admin = {"X-Api-Key": ctx.admin_key}
    tenant_id = f"bench_odoo_sync_{uuid.uuid4().hex[:6]}"
    token = uuid.uuid4().hex
    headers = {"Authorization": f"Bearer {token}"}
    url = ctx.cloud.url
    figures: list[Figure] = []
    with OdooDouble(version=18) as odoo:
        _grow(odoo, EXTRA_PRODUCTS)
        catalogue = len(odoo.records["product.product"])
        for config_type, body in (
                ("config", {"company": {"name": "Sandra Cosméticos"},
                            "odoo": {"url": odoo.url, "db": odoo.db, "username": odoo.username,
                                     "sync_interval_min": 5, "full_sync_every": 12}}),
                ("credentials", {"odoo_api_key": odoo.api_key, "vectorize_token": token})):
            httpx.put(f"{url}/configs/{tenant_id}/default/{config_type}", json=body, headers=admin,
                      timeout=30).raise_for_status()
        hook = httpx.post(f"{url}/configs/{tenant_id}/odoo-hook-token", headers=admin, timeout=30).json()

        def sync_now() -> tuple[dict[str, Any], dict[str, Any], int]:
            calls_before = odoo.total_calls
            response = httpx.post(f"{url}/vectorize/sync", json={"tenant_id": tenant_id, "incremental": True},
                                  headers=headers, timeout=30)
            response.raise_for_status()
            job = _wait_job(ctx, response.json()["job_id"], headers)
            state = httpx.get(f"{url}/vectorize/jobs", params={"tenant_id": tenant_id}, headers=headers,
                              timeout=30).json()["odoo_sync"]
            return job, state, odoo.total_calls - calls_before

        started = time.perf_counter()
        full_job, full_state, full_calls = sync_now()
        full_s = time.perf_counter() - started
        full_read = int(full_state["last_read"]["product.product"])

        # The webhook path: Odoo writes, then posts the body (after its commit; it waits up to 1 s for our 202).
        sunscreen = odoo.records["product.template"][10]  # PROT-50-001
        webhook_s, accepted_ms = [], []
        for step in range(5):
            price = 90.0 + step
            began = time.perf_counter()
            odoo.write("product.template", 10, {"list_price": price})
            body = odoo.webhook_payload("product.template", 10, HOOK_FIELDS, "Atualizar produto no bot")
            sent = time.perf_counter()
            response = httpx.post(url + hook["path"], content=body, headers={"Content-Type": "application/json"},
                                  timeout=30)
            accepted_ms.append((time.perf_counter() - sent) * 1000)
            if response.status_code != 202:
                raise RuntimeError(f"webhook answered {response.status_code}: {response.text}")
            _wait_price(ctx, tenant_id, headers, str(sunscreen["default_code"]), price)
            webhook_s.append(time.perf_counter() - began)

        # The scheduled path: Odoo writes; the next incremental run reads only what changed.
        scheduled_s, reads, calls = [], [], []
        for step in range(3):
            price = 70.0 + step
            began = time.perf_counter()
            odoo.write("product.template", 11, {"list_price": price})
            _job, state, odoo_calls = sync_now()
            _wait_price(ctx, tenant_id, headers, "PROT-COR-002", price)
            scheduled_s.append(time.perf_counter() - began)
            reads.append(int(state["last_read"]["product.product"]))
            calls.append(odoo_calls)

    read = median([float(r) for r in reads])
    figures += [
        Figure("webhook: Odoo change to searchable, p50", median(webhook_s), "s", target="minutes at most",
               met=median(webhook_s) < 60,
               notes=f"5 price changes of one product; from the double's write, through the webhook body and "
                     f"POST /vectorize/odoo/{{token}}, SQS, the worker, Qdrant, to /search returning the new price "
                     f"(max {max(webhook_s):.2f} s)"),
        Figure("webhook: 202 answer p50", median(accepted_ms), "ms", target="< 1,000 ms (Odoo waits 1 s)",
               met=max(accepted_ms) < 1000, notes=f"max {max(accepted_ms):.0f} ms"),
        Figure("scheduled: run start to searchable, p50", median(scheduled_s), "s",
               notes="3 price changes; the schedule adds up to its period (rate(5 minutes)) and the tenant's "
                     "sync_interval_min before the run starts, not measured here"),
        Figure("full sync (first scheduled run), catalogue of products", full_s, "s",
               notes=f"{full_job['processed']} products embedded from an empty collection, {full_calls} Odoo calls"),
        Figure("incremental sync: products read from Odoo, one change", read, "records",
               baseline_name="full sync", baseline_value=float(full_read), target="only the changed records",
               met=read <= 1 and full_read == catalogue,
               notes=f"Odoo calls per incremental run: {median([float(c) for c in calls]):.0f} (full run: "
                     f"{full_calls}); the catalogue has {catalogue} sellable products"),
    ]
    return figures
