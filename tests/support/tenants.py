"""A tenant written through the Config API as an operator would (config, credentials, optionally a mapping), a
wait for this process's config cache to see it, and a wait for a vectorize job to end."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

import httpx


def create_tenant(cloud: Any, config: dict[str, Any], credentials: dict[str, Any], *, mapped: bool = True,
                  channel: str = "whatsapp") -> dict[str, Any]:
    """{"id", "account"} of a new tenant; with `mapped`, inbox 12 of a fresh account is mapped to it."""
    tenant_id = "t_" + uuid.uuid4().hex[:10]
    account = 100_000 + secrets.randbelow(800_000)
    admin = {"X-Api-Key": cloud.admin_key}
    for kind, body in (("config", config), ("credentials", credentials)):
        httpx.put(f"{cloud.url}/configs/{tenant_id}/default/{kind}", json=body, headers=admin,
                  timeout=30).raise_for_status()
    if mapped:
        httpx.put(f"{cloud.url}/mapping", headers=admin, timeout=30, json={"mappings": [
            {"chatwoot_account_id": account, "chatwoot_inbox_id": 12, "tenant_id": tenant_id,
             "channel": channel}]}).raise_for_status()
    return {"id": tenant_id, "account": account}


def cached_config(tenant_id: str, attribute: str, timeout_s: float = 15.0) -> Any:
    """The tenant's config from this process's cache, once `attribute` is set (the ConfigChanged event arrived)."""
    from chatwoot_ai.config import get_config_cache

    cache = get_config_cache()
    deadline = time.monotonic() + timeout_s
    while getattr(cache.config(tenant_id), attribute, None) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    config = cache.config(tenant_id)
    assert config is not None and getattr(config, attribute, None) is not None, f"{tenant_id} has no {attribute}"
    return config


def wait_job(cloud: Any, job_id: str, headers: dict[str, str], timeout: float = 180.0) -> dict[str, Any]:
    """The vectorize job once it is `done` or `failed`; an AssertionError when it is neither after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = httpx.get(f"{cloud.url}/vectorize/jobs/{job_id}", headers=headers, timeout=60).json()
        if job.get("status") in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, f"vectorize job {job_id} not finished in {timeout} s: {job}"
        time.sleep(0.2)
