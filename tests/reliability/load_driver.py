"""The load run shared by tests/reliability/test_load.py (correctness) and bench/bench_load.py (the figures).

Signed Chatwoot webhooks fired at the local runner over HTTP on 127.0.0.1 with a fixed concurrency, for four kinds
of tenant written through the Config API as an operator would:

- `llm` (two tenants): the demo store's three collections (POST /vectorize) and the LLM stub as their model (300 ms a
  call in the bench, token usage in every answer): product and policy questions go through the crew and the model;
  a tenth of their messages come in bursts of three (one answer for the burst, or one per message: the debounce
  decides); some ask for a human (a keyword handoff);
- `retrieval`: the same collections, no LLM: answers from retrieval alone (or the no-answer handoff);
- `handoff`: no LLM and no collections: every message ends in the deterministic no-answer handoff.

Every customer message carries a marker word (`LDxxxxx`); the stub model repeats the markers of the messages it
answers, so an answer is traced to each message it covers. About 15 % of the requests are duplicates (Chatwoot's
retry of the same delivery, and the same message through a second webhook with a new delivery id).

What each conversation must end with, as recorded by the Chatwoot stub (`check`):
- a message of an `llm` tenant's question: its marker in exactly one public message, no note, no toggle_status;
- a handoff (keyword, `handoff` tenant): exactly one public message, one private note, one toggle_status;
- a `retrieval` tenant's question: exactly one public message, and either no handoff or exactly one (note + toggle).
Lost is a message with no outcome; doubled is an outcome given twice (or a call to a conversation nobody wrote in).
"""

from __future__ import annotations

import json
import random
import re
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
HANDOFF = {"message": 1, "note": 1, "toggle_status": 1}
MARKER = re.compile(r"\bLD[A-Z]{5}\b")
# Questions the demo store answers (tests/support/conversation_set.py's product and policy turns).
QUESTIONS = (
    "Vocês têm protetor solar? Qual o preço?", "Quanto custa o protetor solar FPS 50?",
    "quanto custa o serum de vitamina c?", "qual o valor do sérum de retinol?", "tem protetor solar com cor?",
    "quanto custa a limpeza de pele profunda?", "vocês fazem peeling de diamante? quanto é?",
    "máscara de argila verde pra oleosidade, qual o preço?", "massagem relaxante quanto custa?",
    "tem gel de limpeza pra pele oleosa?", "preço da massagem com pedras quentes", "tem desconto na primeira compra?",
    "como faço pra cancelar meu agendamento?", "como funciona o programa beautypoints?",
    "os equipamentos são esterilizados?",
)
ASK_HUMAN = "quero falar com um atendente, por favor"
# Unique messages per kind of tenant and message (the rest of the run's requests are duplicates).
MIX = (("llm_question", 0.40), ("llm_burst", 0.12), ("llm_handoff", 0.05), ("retrieval", 0.23), ("handoff", 0.20))
BURST = 3
RETRIES = 3  # a 5xx is retried with the same delivery, as Chatwoot does


@dataclass
class Tenant:
    id: str
    account: int
    secret: str
    token: str
    role: str = "handoff"  # llm | retrieval | handoff


@dataclass
class Request:
    tenant: Tenant
    conversation: int
    raw: bytes
    delivery_id: str  # a retry of the same delivery keeps it; the same message through another webhook gets a new one
    duplicate: bool
    marker: str = ""
    expect: str = "handoff"  # answer (its marker in one reply) | handoff (one triple) | either (retrieval tenant)


@dataclass
class LoadResult:
    statuses: Counter[int] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)
    sent_at: dict[tuple[str, int], float] = field(default_factory=dict)  # conversation -> first request sent (wall)
    wall_s: float = 0.0
    drain_s: float | None = None
    errors: list[str] = field(default_factory=list)  # requests that got no HTTP answer
    retried_429: int = 0  # answers 429 (the receiver saturated) that were retried after Retry-After, as Chatwoot does
    server_errors: list[str] = field(default_factory=list)  # every 5xx answer (the request was then retried)


@dataclass
class Check:
    """What the Chatwoot stub recorded, against what the requests asked for."""

    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)  # an outcome of another kind than expected (e.g. a handoff)
    handoffs: int = 0  # conversations that ended in a handoff
    answers: int = 0  # public replies that were answers


def marker(n: int) -> str:
    letters = ""
    for _ in range(5):
        n, rest = divmod(n, 26)
        letters += chr(ord("A") + rest)
    return "LD" + letters


# ---------------------------------------------------------------------------------------------------------- tenants
def make_tenants(cloud_url: str, admin_key: str, chatwoot_url: str, roles: int | list[str],
                 llm_url: str | None = None, corpus: dict[str, list[dict[str, Any]]] | None = None) -> list[Tenant]:
    """Tenants of the given roles (a number: that many `handoff` tenants) through the Config API; `llm` and
    `retrieval` ones get `corpus` indexed."""
    if isinstance(roles, int):
        roles = ["handoff"] * roles
    headers = {"X-Api-Key": admin_key}
    tenants, jobs = [], []
    with httpx.Client(base_url=cloud_url, headers=headers, timeout=60) as client:
        for index, role in enumerate(roles):
            tenant = Tenant("t_load_" + uuid.uuid4().hex[:8], 200_000 + secrets.randbelow(700_000),
                            secrets.token_urlsafe(16), "cw-" + secrets.token_urlsafe(16), role)
            vectorize_token = secrets.token_urlsafe(16)
            config: dict[str, Any] = {
                "company": {"name": f"Loja Carga {index}", "language": "pt-BR"},
                "assistant": {"name": "Ana", "style": "friendly", "emoji_usage": "low"},
                "enabled_collections": [] if role == "handoff" else sorted(corpus or {}),
                "chatwoot": {"base_url": chatwoot_url},
                "handoff": {"keywords": ["atendente"], "message": "Vou chamar um atendente."}}
            if role == "llm":
                assert llm_url, "an llm tenant needs the LLM stub's base URL"
                config["llm"] = {"model": "openai/stub-model", "base_url": llm_url, "timeout_s": 30}
            credentials = {"chatwoot_webhook_secret": tenant.secret, "chatwoot_api_access_token": tenant.token,
                           "llm_api_key": "sk-load", "vectorize_token": vectorize_token}
            for kind, body in (("config", config), ("credentials", credentials)):
                client.put(f"/configs/{tenant.id}/default/{kind}", json=body).raise_for_status()
            client.put("/mapping", json={"mappings": [{"chatwoot_account_id": tenant.account, "chatwoot_inbox_id": 12,
                                                        "tenant_id": tenant.id, "channel": "whatsapp"}]}
                       ).raise_for_status()
            if role != "handoff":
                for collection, records in (corpus or {}).items():
                    response = client.post("/vectorize", headers={"Authorization": f"Bearer {vectorize_token}"},
                                           json={"tenant_id": tenant.id, "collection": collection,
                                                 "records": records})
                    response.raise_for_status()
                    jobs.append(response.json()["job_id"])
            tenants.append(tenant)
        wait_for_jobs(client, jobs)
    return tenants


def wait_for_jobs(client: httpx.Client, jobs: list[str], timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    pending = list(jobs)
    while pending:
        status = client.get(f"/vectorize/jobs/{pending[0]}").json()
        if status.get("status") == "done":
            pending.pop(0)
            continue
        if status.get("status") == "failed" or time.monotonic() > deadline:
            raise RuntimeError(f"vectorize job {pending[0]}: {status}")
        time.sleep(0.25)


def answer_with_markers(prompt: str, request: dict[str, Any]) -> str:
    """The stub model's reply: grounded in the facts (the conversation set's stub), then the markers of the new
    messages it answers, so the load run can tell which messages a reply covers."""
    from support.conversation_set import grounded_reply

    reply = grounded_reply(prompt, request)
    new = prompt.rsplit("New message(s) from the customer", 1)[-1].split("Write the reply", 1)[0]
    markers = sorted(set(MARKER.findall(new)))
    return reply if reply == "HANDOFF" else f"{reply} (Ref.: {', '.join(markers)})"


def script_llm(stub: Any) -> None:
    """The conversation set's stub model (intention, specialists quoting their excerpts), answering with markers."""
    from support.conversation_set import script_llm as script_model

    script_model(stub)
    stub.on("customer service assistant", answer=answer_with_markers)


# --------------------------------------------------------------------------------------------------------- requests
def build_requests(tenants: list[Tenant], total: int, duplicate_share: float = 0.15, seed: int = 8,
                   first_conversation: int = 10_000) -> tuple[list[list[Request]], int]:
    """About `total` requests (`duplicate_share` of them duplicates) grouped in units one client sends in order (a
    burst is one unit of three); (units, unique messages)."""
    rng = random.Random(seed)
    unique_target = round(total * (1 - duplicate_share))
    by_role: dict[str, list[Tenant]] = {}
    for t in tenants:
        by_role.setdefault(t.role, []).append(t)
    base = int(time.time()) % 100_000 * 10_000
    counter = iter(range(10**9))
    units: list[list[Request]] = []
    originals: list[Request] = []
    conversation = first_conversation

    def message(tenant: Tenant, conv: int, text: str, expect: str) -> Request:
        n = next(counter)
        mark = marker(base + n)
        payload = incoming(tenant.account, 12, conv, base + n, f"{text} {mark}")
        raw = json.dumps(payload, ensure_ascii=False).encode()
        request = Request(tenant, conv, raw, str(uuid.uuid4()), False, mark, expect)
        originals.append(request)
        return request

    while len(originals) < unique_target:
        kind = rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
        role = kind.split("_")[0]
        if role not in by_role:
            continue
        tenant = rng.choice(by_role[role])
        conversation += 1
        if kind == "llm_question":
            units.append([message(tenant, conversation, rng.choice(QUESTIONS), "answer")])
        elif kind == "llm_burst":
            units.append([message(tenant, conversation, q, "answer") for q in rng.sample(QUESTIONS, BURST)])
        elif kind == "llm_handoff":
            units.append([message(tenant, conversation, ASK_HUMAN, "handoff")])
        elif kind == "retrieval":
            units.append([message(tenant, conversation, rng.choice(QUESTIONS), "either")])
        else:
            units.append([message(tenant, conversation, f"Olá, mensagem de carga nº {len(originals)}", "handoff")])
    for _ in range(total - len(originals)):
        original = rng.choice(originals)
        # Chatwoot's retry of the very same delivery, or the same message through another webhook (a new delivery).
        delivery = original.delivery_id if rng.random() < 0.5 else str(uuid.uuid4())
        units.append([Request(original.tenant, original.conversation, original.raw, delivery, True, original.marker,
                              original.expect)])
    rng.shuffle(units)
    # A duplicate may go out before its original: the receiver must not care which copy comes first.
    return units, len(originals)


def requests_of(units: list[list[Request]]) -> list[Request]:
    return [r for unit in units for r in unit]


def fire(url: str, units: list[list[Request]], concurrency: int = 16) -> LoadResult:
    """Posts every unit's requests, `concurrency` units at a time, from a process of its own: Chatwoot is another
    machine, and client threads in the runner's process would take its interpreter lock from the gateway they
    measure."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as client_process:
        return client_process.submit(fire_here, url, units, concurrency).result()


def fire_here(url: str, units: list[list[Request]], concurrency: int = 16) -> LoadResult:
    """`fire` in this process's threads."""
    result = LoadResult()
    lock = threading.Lock()
    local = threading.local()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=30)
        c: httpx.Client = local.client
        return c

    def send(request: Request) -> None:
        key = (request.tenant.token, request.conversation)
        with lock:
            result.sent_at.setdefault(key, time.time())
        retried_429 = 0
        for attempt in range(1, RETRIES + MAX_429_RETRIES + 2):
            started = time.perf_counter()
            try:
                # Signed when sent, as Chatwoot signs each attempt (the signature's timestamp is valid for 5 min).
                _, headers = signed(request.raw, request.tenant.secret, delivery_id=request.delivery_id)
                response = client().post(f"{url}/webhooks/chatwoot", content=request.raw, headers=headers)
            except httpx.HTTPError as exc:
                with lock:
                    result.errors.append(f"{type(exc).__name__}: {exc}")
                    result.statuses[0] += 1
                return
            elapsed = time.perf_counter() - started
            if response.status_code == 429 and retried_429 < MAX_429_RETRIES:
                retried_429 += 1
                with lock:
                    result.retried_429 += 1
                time.sleep(float(response.headers.get("retry-after", "1")))  # Chatwoot retries a 429 later
                continue
            if response.status_code < 500 or attempt > RETRIES:
                break
            # Chatwoot retries a webhook that got a 5xx (the same delivery); the first answer still counts as a 5xx.
            with lock:
                result.latencies_s.append(elapsed)
                result.server_errors.append(f"{response.status_code}: {response.text[:200]}")
            time.sleep(0.5 * attempt)
        try:
            outcome = str(response.json().get("status") or response.json().get("error", {}).get("code"))
        except ValueError:
            outcome = "not json"
        with lock:
            result.latencies_s.append(elapsed)
            result.statuses[response.status_code] += 1
            result.outcomes[outcome] += 1
            if response.status_code >= 500:
                result.server_errors.append(f"{response.status_code} (after {RETRIES} retries): {response.text[:200]}")

    def send_unit(unit: list[Request]) -> None:
        for request in unit:  # a burst: one message after the other, as fast as the receiver answers
            send(request)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="load") as pool:
        list(pool.map(send_unit, units))
    result.wall_s = time.perf_counter() - started
    return result


# ------------------------------------------------------------------------------------------------------ what arrived
def calls_of(stub: Any, tenants: list[Tenant]) -> dict[tuple[str, int], list[Any]]:
    """What the Chatwoot stub recorded (successful calls), per (tenant token, conversation), in arrival order."""
    tokens = {t.token for t in tenants}
    out: dict[tuple[str, int], list[Any]] = {}
    for call in stub.successful():
        token = call.headers.get("api_access_token", "")
        if token in tokens and call.conversation_id is not None:
            out.setdefault((token, call.conversation_id), []).append(call)
    return out


def per_conversation(stub: Any, tenants: list[Tenant]) -> dict[tuple[str, int], Counter[str]]:
    return {key: Counter(c.kind for c in calls) for key, calls in calls_of(stub, tenants).items()}


def check(stub: Any, tenants: list[Tenant], units: list[list[Request]]) -> Check:
    out = Check()
    recorded = calls_of(stub, tenants)
    conversations: dict[tuple[str, int], list[Request]] = {}
    for request in requests_of(units):
        if not request.duplicate:
            conversations.setdefault((request.tenant.token, request.conversation), []).append(request)
    for key in recorded.keys() - conversations.keys():
        out.doubled.append(f"{key}: calls to a conversation nobody wrote in")
    for key, messages in conversations.items():
        calls = recorded.get(key, [])
        kinds = Counter(c.kind for c in calls)
        replies = [str(c.body.get("content") or "") for c in calls if c.kind == "message"]
        handoff = kinds["toggle_status"] > 0 or kinds["note"] > 0
        out.handoffs += handoff
        expect = messages[0].expect
        if expect == "answer":
            if handoff:
                out.wrong.append(f"{key}: a handoff where an answer was expected: {replies}")
                continue
            out.answers += sum(1 for text in replies if MARKER.search(text))
            for request in messages:
                seen = sum(request.marker in text for text in replies)
                if seen == 0:
                    out.lost.append(f"{key} {request.marker}: no reply carries it ({replies})")
                elif seen > 1:
                    out.doubled.append(f"{key} {request.marker}: in {seen} replies")
            # A long answer arrives in parts (the channel's message size); the markers close its last part.
            tail = replies[max((i for i, text in enumerate(replies) if MARKER.search(text)), default=-1) + 1:]
            if tail:
                out.doubled.append(f"{key}: a reply after the last answer: {tail[0][:120]}")
        elif not calls:
            out.lost.append(f"{key}: nothing arrived")
        elif expect == "handoff" or handoff:
            if dict(kinds) != HANDOFF:
                target = out.lost if any(kinds[k] == 0 for k in KINDS) else out.doubled
                target.append(f"{key}: {dict(kinds)} instead of one handoff ({replies})")
        else:  # a retrieval tenant's answer (one message, or the parts of one long answer)
            out.answers += 1
            if set(kinds) != {"message"} or len(set(replies)) != len(replies):
                out.doubled.append(f"{key}: {dict(kinds)} instead of one reply ({replies})")
    return out


def time_to_reply(stub: Any, tenants: list[Tenant], result: LoadResult,
                  units: list[list[Request]]) -> dict[str, list[float]]:
    """Seconds from a conversation's first request to its first public message at Chatwoot, by what it expected."""
    recorded = calls_of(stub, tenants)
    out: dict[str, list[float]] = {}
    for request in requests_of(units):
        key = (request.tenant.token, request.conversation)
        if request.duplicate or key not in result.sent_at:
            continue
        first = next((c.at for c in recorded.get(key, []) if c.kind == "message"), None)
        if first is not None:
            label = "llm" if request.tenant.role == "llm" and request.expect == "answer" else request.tenant.role
            out.setdefault(label, []).append(first - result.sent_at.pop(key))
    return out


def drain(stub: Any, tenants: list[Tenant], units: list[list[Request]], timeout_s: float,
          settle_s: float = 3.0) -> float | None:
    """Seconds until every conversation has its outcome (None on timeout), then `settle_s` more for strays."""
    started = time.perf_counter()

    def done() -> bool:
        result = check(stub, tenants, units)
        return not result.lost

    ok = stub.wait_for(done, timeout=timeout_s, interval=0.5)
    elapsed = time.perf_counter() - started
    time.sleep(settle_s)  # room for a wrong extra call to show up; not a timing assertion
    return elapsed if ok else None


ROLES = ["llm", "llm", "retrieval", "handoff"]
LLM_LATENCY_S = 0.3


def run_load(cloud: Any, stub: Any, llm: Any, *, total: int = 2000, concurrency: int = 16,
             roles: list[str] | None = None, drain_timeout_s: float = 300.0
             ) -> tuple[LoadResult, list[Tenant], list[list[Request]], int]:
    """The tenants (the demo store indexed for each `llm` and `retrieval` one), the requests, the run, the drain."""
    from devtools.demo_store import corpus

    script_llm(llm)
    llm.latency_s = LLM_LATENCY_S
    who = make_tenants(cloud.url, cloud.admin_key, stub.url, roles or ROLES, llm.base_url, corpus())
    units, unique = build_requests(who, total)
    result = fire(cloud.url, units, concurrency)
    result.drain_s = drain(stub, who, units, drain_timeout_s)
    return result, who, units, unique
