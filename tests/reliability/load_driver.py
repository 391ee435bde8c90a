"""The load run shared by tests/reliability/test_load.py (correctness) and bench/bench_load.py (the figures).

Signed Chatwoot webhooks for several tenants, with duplicates (Chatwoot's retry of the same delivery, and the same
message through a second webhook with a new delivery id), fired at the local runner over HTTP on 127.0.0.1 with a
fixed concurrency. Tenants have no LLM and no collections, so every message ends in the deterministic no-answer
handoff: one public message, one private note and one `toggle_status` per customer message, all recorded by the
Chatwoot stub. One message per conversation, so what the stub recorded per conversation is what it recorded per
source message.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from devtools.chatwoot_payloads import incoming, signed

KINDS = ("message", "note", "toggle_status")
MAX_429_RETRIES = 5


@dataclass
class Tenant:
    id: str
    account: int
    secret: str
    token: str


@dataclass
class Request:
    tenant: Tenant
    conversation: int
    raw: bytes
    headers: dict[str, str]
    duplicate: bool


@dataclass
class LoadResult:
    statuses: Counter[int] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    drain_s: float | None = None
    errors: list[str] = field(default_factory=list)
    retried_429: int = 0  # answers 429 (the receiver saturated) that were retried after Retry-After, as Chatwoot does


def make_tenants(cloud_url: str, admin_key: str, chatwoot_url: str, count: int) -> list[Tenant]:
    """Retrieval-only tenants (no `llm`), written through the Config API as an operator would."""
    headers = {"X-Api-Key": admin_key}
    tenants = []
    with httpx.Client(base_url=cloud_url, headers=headers, timeout=30) as client:
        for index in range(count):
            tenant = Tenant("t_load_" + uuid.uuid4().hex[:8], 200_000 + secrets.randbelow(700_000),
                            secrets.token_urlsafe(16), "cw-" + secrets.token_urlsafe(16))
            config = {"company": {"name": f"Loja Carga {index}", "language": "pt-BR"},
                      "enabled_collections": [], "chatwoot": {"base_url": chatwoot_url},
                      "handoff": {"keywords": ["atendente"], "message": "Vou chamar um atendente."}}
            credentials = {"chatwoot_webhook_secret": tenant.secret, "chatwoot_api_access_token": tenant.token}
            for kind, body in (("config", config), ("credentials", credentials)):
                client.put(f"/configs/{tenant.id}/default/{kind}", json=body).raise_for_status()
            client.put("/mapping", json={"mappings": [{"chatwoot_account_id": tenant.account, "chatwoot_inbox_id": 12,
                                                        "tenant_id": tenant.id, "channel": "whatsapp"}]}
                       ).raise_for_status()
            tenants.append(tenant)
    return tenants


def build_requests(tenants: list[Tenant], total: int, duplicate_share: float = 0.15,
                   seed: int = 8) -> tuple[list[Request], int]:
    """`total` requests, about `duplicate_share` of them duplicates; (requests, unique messages)."""
    rng = random.Random(seed)
    unique = round(total * (1 - duplicate_share))
    base = int(time.time()) % 100_000 * 10_000
    originals = []
    for n in range(unique):
        tenant = tenants[n % len(tenants)]
        conversation = 10_000 + n
        payload = incoming(tenant.account, 12, conversation, base + n, f"Olá, mensagem de carga nº {n}")
        raw, headers = signed(payload, tenant.secret)
        originals.append(Request(tenant, conversation, raw, headers, False))
    duplicates = []
    for _ in range(total - unique):
        original = rng.choice(originals)
        if rng.random() < 0.5:  # Chatwoot's retry: the very same delivery
            duplicates.append(Request(original.tenant, original.conversation, original.raw, original.headers, True))
        else:  # the same message through another webhook: new delivery id, new signature
            raw, headers = signed(original.raw, original.tenant.secret)
            duplicates.append(Request(original.tenant, original.conversation, raw, headers, True))
    ordered = originals + duplicates
    rng.shuffle(ordered)
    # A duplicate may go out before its original: the receiver must not care which copy comes first.
    return ordered, unique


def fire(url: str, requests: list[Request], concurrency: int = 16) -> LoadResult:
    result = LoadResult()
    lock = threading.Lock()
    local = threading.local()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=30)
        c: httpx.Client = local.client
        return c

    def send(request: Request) -> None:
        for _ in range(MAX_429_RETRIES):
            started = time.perf_counter()
            try:
                response = client().post(f"{url}/webhooks/chatwoot", content=request.raw, headers=request.headers)
            except httpx.HTTPError as exc:
                with lock:
                    result.errors.append(f"{type(exc).__name__}: {exc}")
                    result.statuses[0] += 1
                return
            if response.status_code != 429:
                break
            with lock:
                result.retried_429 += 1
            time.sleep(float(response.headers.get("retry-after", "1")))  # Chatwoot retries a 429 later
        elapsed = time.perf_counter() - started
        try:
            outcome = str(response.json().get("status") or response.json().get("error", {}).get("code"))
        except ValueError:
            outcome = "not json"
        with lock:
            result.latencies_s.append(elapsed)
            result.statuses[response.status_code] += 1
            result.outcomes[outcome] += 1
            if response.status_code >= 500 and len(result.errors) < 20:
                result.errors.append(f"{response.status_code}: {response.text[:300]}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="load") as pool:
        list(pool.map(send, requests))
    result.wall_s = time.perf_counter() - started
    return result


def per_conversation(stub: Any, tenants: list[Tenant]) -> dict[tuple[str, int], Counter[str]]:
    """What the Chatwoot stub recorded (successful calls), per (tenant token, conversation), per kind."""
    tokens = {t.token for t in tenants}
    out: dict[tuple[str, int], Counter[str]] = {}
    for call in stub.successful():
        token = call.headers.get("api_access_token", "")
        if token in tokens and call.conversation_id is not None:
            out.setdefault((token, call.conversation_id), Counter())[call.kind] += 1
    return out


def drain(stub: Any, tenants: list[Tenant], unique: int, timeout_s: float, settle_s: float = 3.0) -> float | None:
    """Seconds until every message's three calls arrived (None on timeout), then `settle_s` more for strays."""
    started = time.perf_counter()
    tokens = {t.token for t in tenants}
    expected = unique * len(KINDS)

    def done() -> bool:
        return sum(1 for c in stub.successful() if c.headers.get("api_access_token") in tokens) >= expected

    ok = stub.wait_for(done, timeout=timeout_s, interval=0.25)
    elapsed = time.perf_counter() - started
    time.sleep(settle_s)  # room for a wrong extra call to show up; not a timing assertion
    return elapsed if ok else None


def run_load(cloud: Any, stub: Any, *, total: int = 2000, tenants: int = 4, concurrency: int = 16,
             drain_timeout_s: float = 300.0) -> tuple[LoadResult, list[Tenant], list[Request], int]:
    who = make_tenants(cloud.url, cloud.admin_key, stub.url, tenants)
    requests, unique = build_requests(who, total)
    result = fire(cloud.url, requests, concurrency)
    result.drain_s = drain(stub, who, unique, drain_timeout_s)
    return result, who, requests, unique
