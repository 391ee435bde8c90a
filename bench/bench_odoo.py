"""Odoo gateway: warm product search p50 through the local stack (HTTP -> runner -> handler -> Odoo double), with
and without the read cache; the same without cache against an Odoo 50 ms away; and one MCP tool call with the
crew's helper (initialize + call, as the crew does it)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from bench.figures import Figure, median, percentile, time_calls

QUERIES = ["protetor solar", "sérum", "gel", "máscara facial", "hidratante"]


def _configure(ctx: Any, tenant_id: str, odoo: Any, **extra: Any) -> None:
    headers = {"X-Api-Key": ctx.admin_key}
    config = {"company": {"name": "Sandra Cosméticos"},
              "odoo": {"url": odoo.url, "db": odoo.db, "username": odoo.username, **extra}}
    for config_type, body in (("config", config), ("credentials", {"odoo_api_key": odoo.api_key})):
        response = httpx.put(f"{ctx.cloud.url}/configs/{tenant_id}/default/{config_type}", json=body,
                             headers=headers, timeout=10)
        response.raise_for_status()


def _invoker(ctx: Any, tenant_id: str) -> Any:
    """One warm invocation of the gateway function, as the runner (or Lambda) makes it: a v2 event for
    GET /products, through Mangum and FastAPI to Odoo. Queries rotate, so the cache sees repeats of 5 queries."""
    from localcloud.gateway import build_event

    function = ctx.cloud.function("OdooGatewayFunction")
    route, params, _ = ctx.cloud.gateway.match("GET", "/products")
    headers = {"x-api-key": ctx.admin_key, "x-tenant-id": tenant_id, "host": "127.0.0.1"}
    events = [build_event(route, "GET", "/products", httpx.QueryParams({"q": q, "limit": 5}).__str__(), headers,
                          b"", params, "127.0.0.1", "bench") for q in QUERIES]
    state = {"i": 0}

    def call() -> None:
        event = events[state["i"] % len(events)]
        state["i"] += 1
        result = function.invoke(event)
        if result["statusCode"] != 200:
            raise RuntimeError(f"GET /products answered {result['statusCode']}: {result.get('body')}")

    return call


def run(ctx: Any) -> list[Figure]:
    from chatwoot_ai.odoo import mcp_tools
    from devtools.doubles import OdooDouble

    figures: list[Figure] = []
    ms = 1000.0
    with OdooDouble(version=18) as odoo:
        cached, uncached = f"bench_odoo_c_{uuid.uuid4().hex[:6]}", f"bench_odoo_u_{uuid.uuid4().hex[:6]}"
        _configure(ctx, cached, odoo)
        _configure(ctx, uncached, odoo, cache_ttl_s=0)

        odoo.reset_counters()
        with_cache = time_calls(_invoker(ctx, cached), repeat=300, warmup=len(QUERIES))
        odoo_calls_cached = odoo.calls[("product.product", "search_read")]
        without_cache = time_calls(_invoker(ctx, uncached), repeat=300, warmup=len(QUERIES))
        odoo.delay_s = 0.05
        remote = time_calls(_invoker(ctx, uncached), repeat=40, warmup=2)
        remote_cached = time_calls(_invoker(ctx, cached), repeat=40, warmup=0)
        odoo.delay_s = 0

        with httpx.Client(timeout=30) as http:
            headers = {"X-Api-Key": ctx.admin_key, "X-Tenant-Id": cached}
            over_http = time_calls(lambda: http.get(f"{ctx.cloud.url}/products", params={"q": "gel"},
                                                    headers=headers).raise_for_status(), repeat=50, warmup=2)

        figures.append(Figure("warm product search p50, read cache on", median(with_cache) * ms, "ms",
                              baseline_name="read cache off", baseline_value=median(without_cache) * ms,
                              notes=f"one warm invocation of the gateway (v2 event -> Mangum -> FastAPI -> Odoo "
                                    f"double on 127.0.0.1), {len(QUERIES)} pt-BR queries in turn, 300 calls; "
                                    f"{odoo_calls_cached} Odoo search_read calls for the cached tenant. "
                                    f"p95 {percentile(with_cache, 95) * ms:.2f} ms."))
        figures.append(Figure("warm product search p50, read cache off", median(without_cache) * ms, "ms",
                              notes="every call goes to Odoo (XML-RPC, pooled keep-alive connection, uid reused). "
                                    f"p95 {percentile(without_cache, 95) * ms:.2f} ms."))
        figures.append(Figure("warm product search p50, Odoo 50 ms away, cache off", median(remote) * ms, "ms",
                              baseline_name="cache on", baseline_value=median(remote_cached) * ms,
                              notes="the double waits 50 ms per request, like a remote Odoo."))
        figures.append(Figure("product search p50 over HTTP via the local runner (cache on)",
                              median(over_http) * ms, "ms",
                              notes="client -> local runner -> handler; most of it is the runner's HTTP "
                                    "keep-alive round trip, not the gateway."))

        def mcp_call() -> None:
            mcp_tools.call_tool(ctx.cloud.url, ctx.admin_key, cached, "search_products", {"query": "sérum"},
                                timeout_s=10)

        cold = ctx.cloud.function("OdooGatewayFunction").cold_start_s
        if cold is not None:
            figures.append(Figure("gateway cold import (odoo_gateway: FastAPI, Mangum, mcp)", cold * ms, "ms",
                                  notes="first invocation's import of the handler module in the local runner "
                                        "(no Lambda INIT overhead included)."))

        mcp = time_calls(mcp_call, repeat=30, warmup=2)
        figures.append(Figure("MCP search_products p50 via the crew helper (cache on)", median(mcp) * ms, "ms",
                              notes="a new MCP client session per call: initialize, initialized, tools/call "
                                    "(3 HTTP requests through the local runner to the stateless server)."))
    return figures
