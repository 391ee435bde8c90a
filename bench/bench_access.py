"""What the issue-16 credentials cost: a tenant key's check (one consistent GetItem of its hashed item) against the
admin key's (a constant-time compare in memory), the same GET over the local stack with each, and a customer
identity's signing and verification (HMAC-SHA256, in memory)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from bench.figures import Figure, median, percentile, time_calls


def run(ctx: Any) -> list[Figure]:
    from chatwoot_ai.access import api_keys, caller
    from chatwoot_ai.identity import CustomerIdentity, sign_identity, verify_identity

    cloud = ctx.cloud
    tenant_id = "bench_acc_" + uuid.uuid4().hex[:6]
    admin = {"X-Api-Key": ctx.admin_key}
    httpx.put(f"{cloud.url}/configs/{tenant_id}/default/config", json={"company": {"name": "Loja"}}, headers=admin,
              timeout=30).raise_for_status()
    created = httpx.post(f"{cloud.url}/configs/{tenant_id}/api-keys", json={}, headers=admin, timeout=30)
    created.raise_for_status()
    tenant = {"X-Api-Key": created.json()["key"]}
    ms, us = 1e3, 1e6

    admin_check = time_calls(lambda: caller(admin), repeat=2000, warmup=50)
    key_check = time_calls(lambda: api_keys().verify(tenant["X-Api-Key"]), repeat=300, warmup=10)
    url = f"{cloud.url}/configs/{tenant_id}/default/config"
    with httpx.Client(timeout=30) as http:
        by_admin = time_calls(lambda: http.get(url, headers=admin).raise_for_status(), repeat=100, warmup=5)
        by_tenant = time_calls(lambda: http.get(url, headers=tenant).raise_for_status(), repeat=100, warmup=5)
    who = CustomerIdentity(tenant_id, "default", 3, 431, 905, "+5511987654321")
    sign = time_calls(lambda: sign_identity(who), repeat=2000, warmup=50)
    token = sign_identity(who)
    verify = time_calls(lambda: verify_identity(token), repeat=2000, warmup=50)
    return [
        Figure("tenant key check (GetItem of its hashed item), median", median(key_check) * us, "µs", area="access",
               baseline_name="admin key check (in memory)", baseline_value=median(admin_check) * us,
               notes=f"emulated DynamoDB; p95 {percentile(key_check, 95) * ms:.2f} ms"),
        Figure("GET /configs/{t}/default/config with a tenant key, median", median(by_tenant) * ms, "ms",
               area="access", baseline_name="the same GET with the admin key", baseline_value=median(by_admin) * ms,
               notes=f"local stack over HTTP, same run; p95 {percentile(by_tenant, 95) * ms:.1f} vs "
                     f"{percentile(by_admin, 95) * ms:.1f} ms"),
        Figure("customer identity: sign, median", median(sign) * us, "µs", area="access"),
        Figure("customer identity: verify, median", median(verify) * us, "µs", area="access"),
    ]
