"""Per-event resource accounting on the local stack, priced by bench/capacity_model.py (`make capacity`).

What one customer turn, one vectorized record and one config change cost in every function they reach: invocations,
billed duration, DynamoDB request units, SQS/EventBridge/KMS requests, log bytes, Qdrant calls (the runner's meter,
`infra/localcloud/accounting.py`), HTTP requests through the gateway, and LLM calls and tokens (the LLM stub's
`usage`: tokens estimated at 4 characters each, since the stub does not tokenize; it answers as the conversation-set
tests script it). The counted DynamoDB calls are checked against what the emulated cloud served in the same window.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from typing import Any

import httpx

from bench.context import settle
from bench.figures import Figure


def _conversations() -> tuple[tuple[str, ...], ...]:
    """The scripted pt-BR conversation set of the answers work (tests/support/conversation_set.py): product and price,
    policies, follow-ups, small talk, orders, out of scope, internal-rule bait, long answers."""
    from support.conversation_set import CONVERSATIONS

    return tuple(c.turns for c in CONVERSATIONS)


def _snapshot(cloud: Any) -> dict[str, dict[str, Any]]:
    return {name: {**f.usage.snapshot(), "memory_mb": f.spec.memory} for name, f in cloud.functions.items()}


def _delta(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, now in after.items():
        was = before.get(name, {})
        keys = ("calls", "units")
        entry = {k: now[k] - was.get(k, 0) for k in ("invocations", "billed_ms", "gb_s")}
        entry["memory_mb"] = now["memory_mb"]
        for key in keys:
            entry[key] = {k: v - was.get(key, {}).get(k, 0) for k, v in now[key].items()
                          if v - was.get(key, {}).get(k, 0)}
        if entry["invocations"] or entry["units"]:
            out[name] = entry
    return out


def _http_requests(cloud: Any) -> int:
    """Requests API Gateway has served so far (the runner's gateway counts them per function)."""
    return sum(cloud.gateway.requests.values())


class Shop:
    """The demo store as a tenant: its collections, its Odoo (the double), the Chatwoot stub, the LLM stub."""

    def __init__(self, cloud: Any, chatwoot: Any, odoo: Any, llm: Any | None) -> None:
        self.cloud, self.chatwoot = cloud, chatwoot
        self.id = "cap_" + uuid.uuid4().hex[:8]
        self.account = 700_000 + secrets.randbelow(90_000)
        self.secret, self.token = secrets.token_urlsafe(16), "cw-" + secrets.token_urlsafe(12)
        self.vectorize_token = secrets.token_urlsafe(16)
        config: dict[str, Any] = {
            "company": {"name": "Sandra Cosméticos", "language": "pt-BR"},
            "assistant": {"name": "Ana", "style": "friendly"},
            "enabled_collections": ["business_rules", "support_documents", "products"],
            "chatwoot": {"base_url": chatwoot.url},
            "odoo": {"url": odoo.url, "db": odoo.db, "username": odoo.username},
            "handoff": {"keywords": ["atendente", "humano"], "message": "Vou chamar uma atendente."},
        }
        if llm is not None:
            config["llm"] = {"model": "openai/stub-model", "base_url": llm.base_url, "timeout_s": 20}
        credentials = {"chatwoot_webhook_secret": self.secret, "chatwoot_api_access_token": self.token,
                       "vectorize_token": self.vectorize_token, "odoo_api_key": odoo.api_key, "llm_api_key": "sk-x"}
        self.admin = {"X-Api-Key": cloud.admin_key}
        for kind, body in (("config", config), ("credentials", credentials)):
            self.put(kind, body)
        httpx.put(f"{cloud.url}/mapping", headers=self.admin, timeout=30, json={"mappings": [
            {"chatwoot_account_id": self.account, "chatwoot_inbox_id": 12, "tenant_id": self.id,
             "channel": "whatsapp"}]}).raise_for_status()
        self._ids = iter(range(int(time.time()) % 100_000 * 1000 + 10**9, 10**13))

    def put(self, kind: str, body: dict[str, Any]) -> None:
        httpx.put(f"{self.cloud.url}/configs/{self.id}/default/{kind}", json=body, headers=self.admin,
                  timeout=60).raise_for_status()

    def vectorize(self, collection: str, records: list[dict[str, Any]]) -> None:
        bearer = {"Authorization": f"Bearer {self.vectorize_token}"}
        response = httpx.post(f"{self.cloud.url}/vectorize", headers=bearer, timeout=120,
                              json={"tenant_id": self.id, "collection": collection, "records": records})
        response.raise_for_status()
        job_id = response.json()["job_id"]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            job = httpx.get(f"{self.cloud.url}/vectorize/jobs/{job_id}", headers=bearer, timeout=30).json()
            if job.get("status") in ("done", "failed"):
                return
            time.sleep(0.2)
        raise RuntimeError(f"vectorize job {job_id} did not finish")

    def say(self, conversation: int, text: str) -> None:
        from devtools.chatwoot_payloads import incoming, signed

        before = len(self.chatwoot.successful())
        raw, headers = signed(incoming(self.account, 12, conversation, next(self._ids), text), self.secret)
        httpx.post(f"{self.cloud.url}/webhooks/chatwoot", content=raw, headers=headers,
                   timeout=30).raise_for_status()
        if not self.chatwoot.wait_for(lambda: len(self.chatwoot.successful()) > before, timeout=120):
            raise RuntimeError(f"no answer to {text!r}")


def _turns(cloud: Any, shop: Shop, llm: Any | None, first_conversation: int) -> dict[str, Any]:
    from localcloud.cloud import dynamodb_served

    settle(cloud)
    before, served, http = _snapshot(cloud), dynamodb_served(cloud.endpoint_url), _http_requests(cloud)
    llm_before = len(llm.usages) if llm is not None else 0
    turns = 0
    for number, conversation in enumerate(_conversations()):
        for text in conversation:
            shop.say(first_conversation + number, text)
            turns += 1
    settle(cloud)
    functions = _delta(before, _snapshot(cloud))
    counted = sum(v for f in functions.values() for k, v in f["calls"].items() if k.startswith("dynamodb."))
    served = dynamodb_served(cloud.endpoint_url) - served
    block: dict[str, Any] = {"count": turns, "functions": functions, "http_requests": _http_requests(cloud) - http,
                             "dynamodb_calls_counted": counted, "dynamodb_calls_served": served}
    if llm is not None:
        usages = llm.usages[llm_before:]
        block["llm"] = {"calls": len(usages), "prompt_tokens": sum(u["prompt_tokens"] for u in usages),
                        "completion_tokens": sum(u["completion_tokens"] for u in usages)}
    return block


def measure(cloud: Any) -> dict[str, Any]:
    from support.conversation_set import script_llm

    from devtools import SHORT_DEBOUNCE
    from devtools.demo_store import corpus
    from devtools.doubles import ChatwootStub, LlmStub, OdooDouble

    measured: dict[str, Any] = {"measured_at": time.strftime("%Y-%m-%d")}
    # The debounce is excluded from the figures: it only waits.
    with cloud.environment_changed(SHORT_DEBOUNCE, "ConversationWorkerFunction"), \
            ChatwootStub() as chatwoot, OdooDouble() as odoo, LlmStub() as llm:
        script_llm(llm)  # the same scripted model the conversation-set tests use
        shop = Shop(cloud, chatwoot, odoo, llm)
        plain = Shop(cloud, chatwoot, odoo, None)
        data = corpus()
        for tenant in (shop, plain):
            for collection, records in data.items():
                tenant.vectorize(collection, records)
        shop.say(1, "Vocês têm protetor solar?")  # warm the functions a turn reaches; cold starts apart
        plain.say(1, "Vocês têm protetor solar?")
        measured["turn"] = _turns(cloud, shop, llm, 100)
        measured["turn_no_llm"] = _turns(cloud, plain, None, 100)
        measured["turns"] = measured["turn"]["count"]

        settle(cloud)
        before = _snapshot(cloud)
        records = [{"id": f"cap-{i}", "text": f"Produto de teste {i}: creme hidratante com ácido hialurônico, "
                                             f"pote de 50 g. Preço: R$ {30 + i},90."} for i in range(50)]
        shop.vectorize("products", records)
        settle(cloud)
        functions = _delta(before, _snapshot(cloud))
        # The job's progress polls are the bench's own, not Odoo's: only the POST counts.
        measured["record"] = {"count": len(records), "functions": functions, "http_requests": 1}

        before, http = _snapshot(cloud), _http_requests(cloud)
        shop.put("config", {"company": {"name": "Sandra Cosméticos", "language": "pt-BR"},
                            "enabled_collections": ["products"], "chatwoot": {"base_url": chatwoot.url}})
        settle(cloud, quiet_s=2.5)
        functions = _delta(before, _snapshot(cloud))
        measured["config_change"] = {"count": 1, "functions": functions,
                                     "http_requests": _http_requests(cloud) - http}
        measured["vector_dims"] = _vector_dims(cloud)
    measured["cold_start_s"] = {name: f.cold_start_s for name, f in cloud.functions.items()
                                if f.cold_start_s is not None}
    return measured


def _vector_dims(cloud: Any) -> list[int]:
    """The dense vector sizes of the products collection as stored (what Qdrant keeps in RAM per point)."""
    from chatwoot_ai.vector.store import get_store

    store = get_store()
    info = store.client.get_collection(store.physical("products"))
    vectors = info.config.params.vectors
    if isinstance(vectors, dict):
        return [v.size for v in vectors.values()]
    return [vectors.size]


def run(ctx: Any) -> list[Figure]:
    from bench import capacity_model

    measured = measure(ctx.cloud)
    capacity_model.USAGE.write_text(json.dumps(measured, indent=1, sort_keys=True), encoding="utf-8")
    prices = capacity_model.load_prices()
    capacity_model.write_report(measured, prices)
    thousand = capacity_model.cost_per_thousand(measured, prices)
    turn = capacity_model.per_turn(measured, "turn")
    units: dict[str, float] = {}
    for f in turn["functions"].values():
        for k, v in f["units"].items():
            units[k] = units.get(k, 0) + v
    block = measured["turn"]
    return [
        Figure("AWS cost of 1,000 conversations", round(thousand["aws"], 4), "USD", area="capacity",
               notes=f"{prices['scenario']['turns_per_conversation']} turns each; bench/capacity.md"),
        Figure(f"LLM cost of 1,000 conversations ({prices['llm']['model']})", round(thousand["llm"], 4), "USD",
               area="capacity"),
        Figure("DynamoDB request units per turn (read + write)",
               round(units.get("dynamodb_rru", 0) + units.get("dynamodb_wru", 0), 2), "units", area="capacity"),
        Figure("DynamoDB calls per turn counted by the functions", block["dynamodb_calls_counted"] / block["count"],
               "calls", area="capacity", baseline_name="served by the emulated cloud",
               baseline_value=block["dynamodb_calls_served"] / block["count"]),
        Figure("LLM calls per turn (today's crew)", turn["llm"].get("calls", 0), "calls", area="capacity"),
        Figure("billed Lambda GB-s per turn", round(sum(f["gb_s"] for f in turn["functions"].values()), 4), "GB-s",
               area="capacity"),
    ]
