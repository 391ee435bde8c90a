"""The business owner's view on the emulated cloud: how long `GET /metrics` (one item per day), `GET /conversations`
(a page of the tenant's list, each row's turns counted) and one conversation with its traces take for a busy
tenant."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.figures import Figure, median, percentile, time_calls

CONVERSATIONS = 300
TURNS_PER_CONVERSATION = 10  # bot turns, each with its trace (and a customer turn before it)
TURNS_PER_DAY = 5000


def _seed(tenant_id: str) -> None:
    from chatwoot_ai import aws
    from chatwoot_ai.conversation.history import HistoryStore, conversation_pk
    from chatwoot_ai.settings import get_settings

    store = HistoryStore(aws.table(get_settings().resources.history_table))
    now = int(time.time() * 1000)
    trace = {"outcome": "answered", "channel": "whatsapp", "messages": 1, "reply_ms": 2400, "handoff": None,
             "plan": {"specialists": ["products"], "agents_ran": ["response"], "skipped": {}, "steps": [],
                      "llm": True},
             "sources": [{"collection": "products", "id": "p1", "score": 0.9, "visibility": "public",
                          "excerpt": "Protetor solar FPS 50, 200 ml, R$ 59,90." * 4}],
             "llm": {"llm_calls": 1, "tokens": 1400, "prompt_tokens": 1300, "completion_tokens": 100, "calls": []}}
    with store.table.batch_writer() as batch:
        for c in range(CONVERSATIONS):
            pk = conversation_pk(tenant_id, 1, c)
            for turn in range(TURNS_PER_CONVERSATION):
                at = now - (c * TURNS_PER_CONVERSATION + turn) * 60_000  # one turn a minute, over ~2 days
                batch.put_item(Item={"pk": pk, "sk": f"turn#{at:013d}#{turn}", "role": "customer", "content": "oi",
                                     "message_id": str(turn), "at_ms": at})
                batch.put_item(Item={"pk": pk, "sk": f"trace#{at:013d}#{turn}", "source_id": str(turn),
                                     "at_ms": at,
                                     "trace": json.dumps(trace)})
    for offset in range(7):  # a busy week: the day items the worker's add_trace keeps
        day = (datetime.now(UTC).date() - timedelta(days=offset)).isoformat()
        store.table.put_item(Item={"pk": f"metrics#{tenant_id}", "sk": f"day#{day}", "turns": TURNS_PER_DAY,
                                   "answered": TURNS_PER_DAY - 400, "handoff_no_answer": 300,
                                   "handoff_customer_request": 100, "llm_calls": TURNS_PER_DAY,
                                   "tokens": TURNS_PER_DAY * 1400,
                                   **{f"rt_{b}": 20 for b in range(100, 25_100, 100)}})
    for c in range(CONVERSATIONS):
        store.touch(conversation_pk(tenant_id, 1, c), tenant_id, 1, c, "whatsapp", now - c * 60_000)


def run(ctx: Any) -> list[Figure]:
    cloud = ctx.cloud
    tenant_id = "bench_ins_" + uuid.uuid4().hex[:6]
    _seed(tenant_id)
    headers = {"X-Api-Key": ctx.admin_key}
    with httpx.Client(base_url=cloud.url, headers=headers, timeout=120) as client:
        assert client.get(f"/metrics/{tenant_id}?days=7").json()["days"][-1]["turns"] > 0
        metrics = time_calls(lambda: client.get(f"/metrics/{tenant_id}?days=7").raise_for_status(), repeat=10,
                             warmup=1)
        page = time_calls(lambda: client.get(f"/conversations/{tenant_id}?limit=20").raise_for_status(),
                          repeat=20, warmup=2)
        one = time_calls(lambda: client.get(f"/conversations/{tenant_id}/1/0").raise_for_status(), repeat=20,
                         warmup=2)
    return [
        Figure(f"GET /metrics?days=7, {TURNS_PER_DAY:,} turns a day, median", median(metrics) * 1000, "ms",
               notes=f"p95 {percentile(metrics, 95) * 1000:.0f} ms; one query of 7 day items (counters and a "
                     "250-bucket histogram of times to reply each), through the local runner's InsightsApiFunction"),
        Figure(f"GET /conversations?limit=20 of {CONVERSATIONS} conversations, median", median(page) * 1000, "ms",
               notes=f"p95 {percentile(page, 95) * 1000:.0f} ms; one index query plus one COUNT query per row"),
        Figure(f"GET /conversations/{{tenant}}/{{account}}/{{conversation}}, {TURNS_PER_CONVERSATION} turns with "
               "traces, median", median(one) * 1000, "ms", notes=f"p95 {percentile(one, 95) * 1000:.0f} ms"),
    ]
