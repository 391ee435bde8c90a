"""Load through the local runner and the crew (tests/reliability/load_driver.py): 2,000 signed webhooks at
concurrency 16 for two tenants with the demo store and the LLM stub (300 ms a call), one answering from retrieval
alone and one without collections (handoffs); questions, bursts of three, keyword handoffs, ~15 % duplicates. The
same kind of requests one at a time in the same run is the baseline. Then the queue drains through the worker and
every customer message's outcome is checked (lost, doubled and of the wrong kind must all be 0).

`BENCH_LOAD_REQUESTS` changes the size of the loaded run; the default is the issue's full size, 2,000.
"""

from __future__ import annotations

import os
import statistics
from typing import Any

from bench.figures import Figure, percentile


def run(ctx: Any) -> list[Figure]:
    from reliability.load_driver import (
        LLM_LATENCY_S,
        build_requests,
        check,
        drain,
        fire,
        make_tenants,
        requests_of,
        script_llm,
        time_to_reply,
    )

    from devtools import SHORT_DEBOUNCE
    from devtools.demo_store import corpus
    from devtools.doubles import ChatwootStub, LlmStub
    from localcloud.lambdas import BACKGROUND_NICE
    from localcloud.memory import report

    total = int(os.environ.get("BENCH_LOAD_REQUESTS", "2000"))
    cloud = ctx.cloud
    # The worker's 2 s debounce only delays each job; the load run measures the pipeline, not that wait.
    with (cloud.environment_changed(SHORT_DEBOUNCE, "ConversationWorkerFunction"), ChatwootStub() as stub,
          LlmStub(latency_s=LLM_LATENCY_S) as llm):
        script_llm(llm)
        tenants = make_tenants(cloud.url, cloud.admin_key, stub.url, ["llm", "llm", "retrieval", "handoff"],
                               llm.base_url, corpus())
        # One at a time first (the same kinds of tenant and message): each request with nothing else in flight.
        solo_units, _ = build_requests(tenants, 100, seed=1, first_conversation=900_000)
        solo = fire(cloud.url, solo_units, concurrency=1)
        drain(stub, tenants, solo_units, timeout_s=300, settle_s=0)
        solo_reply = time_to_reply(stub, tenants, solo, solo_units)
        stub.reset()
        llm.usages.clear()

        units, unique = build_requests(tenants, total)
        loaded = fire(cloud.url, units, concurrency=16)
        load_average = os.getloadavg()[0]  # other work on the machine moves every figure here
        memory_at_peak = report(cloud)
        drain_s = drain(stub, tenants, units, timeout_s=600)
        outcome = check(stub, tenants, units)
        reply = time_to_reply(stub, tenants, loaded, units)
        usages = list(llm.usages)

    requests = requests_of(units)
    server_errors = len(loaded.server_errors) + loaded.statuses[0]
    ms = 1000.0
    p50, p99 = percentile(loaded.latencies_s, 50) * ms, percentile(loaded.latencies_s, 99) * ms
    solo_p50, solo_p99 = percentile(solo.latencies_s, 50) * ms, percentile(solo.latencies_s, 99) * ms
    every_reply = [s for values in reply.values() for s in values]
    solo_every = [s for values in solo_reply.values() for s in values]
    llm_reply, solo_llm = reply.get("llm", []), solo_reply.get("llm", [])
    throughput = len(requests) / loaded.wall_s
    tokens = sum(u["total_tokens"] for u in usages)
    kinds = ", ".join(f"{label} {len(values)}" for label, values in sorted(reply.items()))
    mix = (f"{len(requests)} requests, {unique} distinct messages, {len(requests) - unique} duplicates; tenants: 2 "
           f"with the demo store and the LLM stub ({LLM_LATENCY_S * 1000:.0f} ms a call), 1 retrieval-only, 1 "
           f"without collections; bursts of 3, keyword handoffs; concurrency 16. Each function's environments are "
           f"processes of their own, and so are moto, the embedded Qdrant and the load client; the gateway and the "
           f"pollers share the runner's process; functions no route reaches and Qdrant run at nice "
           f"{BACKGROUND_NICE}")
    envs = {name: len(found) for name, found in memory_at_peak["functions"].items() if found}
    return [
        Figure("webhook p50 under load (concurrency 16)", round(p50, 1), "ms",
               baseline_name="one request at a time", baseline_value=round(solo_p50, 1), notes=mix),
        Figure("webhook p99 under load (concurrency 16)", round(p99, 1), "ms", target="<= 500 ms", met=p99 <= 500,
               baseline_name="one request at a time", baseline_value=round(solo_p99, 1),
               notes=f"max {max(loaded.latencies_s) * ms:.0f} ms; mean {statistics.mean(loaded.latencies_s) * ms:.1f}"
                     " ms; HTTP round trip as the client sees it"),
        Figure("webhook throughput (concurrency 16)", round(throughput, 1), "req/s",
               baseline_name="one request at a time", baseline_value=round(len(requests_of(solo_units)) / solo.wall_s,
                                                                            1),
               notes=f"{len(requests)} requests in {loaded.wall_s:.1f} s; machine load average "
                     f"{load_average:.1f} on {os.cpu_count()} cores at the end of the run"),
        Figure("time to reply p50 under load (webhook -> Chatwoot post)", round(percentile(every_reply, 50), 2), "s",
               baseline_name="one message at a time", baseline_value=round(percentile(solo_every, 50), 2),
               notes=f"from a conversation's first request to its first public message at the Chatwoot stub, every "
                     f"kind ({kinds}); worker debounce 0.1 s for this run (2 s by default)"),
        Figure("time to reply p95 under load (webhook -> Chatwoot post)", round(percentile(every_reply, 95), 2), "s",
               baseline_name="one message at a time", baseline_value=round(percentile(solo_every, 95), 2)),
        Figure("time to reply p50, answers through the LLM", round(percentile(llm_reply, 50), 2), "s",
               baseline_name="one message at a time", baseline_value=round(percentile(solo_llm, 50), 2),
               notes=f"{len(llm_reply)} conversations answered by the crew with the stub model; "
                     f"{len(usages)} model calls, {tokens:,} tokens reported by the stub "
                     f"({tokens / max(1, outcome.answers):.0f} per answer)"),
        Figure("time to reply p95, answers through the LLM", round(percentile(llm_reply, 95), 2), "s",
               baseline_name="one message at a time", baseline_value=round(percentile(solo_llm, 95), 2)),
        Figure("queue drained after the last request", round(drain_s, 1) if drain_s is not None else -1, "s",
               notes="until every conversation had its outcome (-1: not within 600 s)"),
        Figure("5xx or failed requests under load", server_errors, "count", target="0", met=server_errors == 0,
               notes="every 5xx answer (retried with the same delivery, as Chatwoot does) and every request without "
                     "an answer; final statuses: " + ", ".join(f"{status}: {n}" for status, n in
                                                               sorted(loaded.statuses.items()))
                     + (f"; first: {loaded.server_errors[0]}" if loaded.server_errors else "")),
        Figure("customer messages lost", len(outcome.lost), "count", target="0", met=not outcome.lost,
               notes=f"{unique} messages; {outcome.answers} answered, {outcome.handoffs} conversations handed off; "
                     + ("; ".join(outcome.lost[:2]) if outcome.lost else "none without its reply or handoff")),
        Figure("customer messages answered twice (doubled)", len(outcome.doubled), "count", target="0",
               met=not outcome.doubled, notes="; ".join(outcome.doubled[:2])),
        Figure("outcomes of the wrong kind", len(outcome.wrong), "count", target="0", met=not outcome.wrong,
               notes="a handoff where the crew should have answered, " + ("; ".join(outcome.wrong[:2]) or "none")),
        Figure("RSS of the stack under load", memory_at_peak["total_rss_mb"], "MB",
               notes=f"runner {memory_at_peak['runner']['rss_mb']} MB ({memory_at_peak['runner']['holds']}); "
                     + "".join(f"{name} {memory_at_peak[name]['rss_mb']} MB; " for name in ("moto", "qdrant")
                               if name in memory_at_peak)
                     + "; ".join(f"{name} {n}x {', '.join(str(e['rss_mb']) for e in memory_at_peak['functions'][name])}"
                                 " MB" for name, n in envs.items())),
    ]
