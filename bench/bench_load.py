"""Load on the webhook receiver through the local runner: 2,000 signed requests at concurrency 16 (four tenants,
~15 % duplicates), compared with 100 of the same kind one at a time in the same run; then the queue drains through
the worker and every Chatwoot call is counted per source message (lost and doubled must both be 0).

`BENCH_LOAD_REQUESTS` changes the size of the loaded run; the default is the issue's full size, 2,000 (about 5 minutes
for this module here, so `make bench` stays under 10 minutes on two cores).
"""

from __future__ import annotations

import os
import statistics
from typing import Any

from bench.figures import Figure, percentile


def run(ctx: Any) -> list[Figure]:
    from reliability.load_driver import KINDS, build_requests, drain, fire, make_tenants, per_conversation

    from devtools import SHORT_DEBOUNCE
    from devtools.doubles import ChatwootStub

    total = int(os.environ.get("BENCH_LOAD_REQUESTS", "2000"))
    cloud = ctx.cloud
    # The worker's 2 s debounce only delays each job; the load run measures the pipeline, not that wait.
    with cloud.environment_changed(SHORT_DEBOUNCE, "ConversationWorkerFunction"), ChatwootStub() as stub:
        # One at a time first: the same requests' latency with nothing else in flight.
        solo_tenants = make_tenants(cloud.url, cloud.admin_key, stub.url, 2)
        solo_requests, solo_unique = build_requests(solo_tenants, 100, seed=1)
        solo = fire(cloud.url, solo_requests, concurrency=1)
        drain(stub, solo_tenants, solo_unique, timeout_s=300, settle_s=0)

        tenants = make_tenants(cloud.url, cloud.admin_key, stub.url, 4)
        requests, unique = build_requests(tenants, total)
        loaded = fire(cloud.url, requests, concurrency=16)
        drain_s = drain(stub, tenants, unique, timeout_s=480)
        recorded = per_conversation(stub, tenants)

    expected = {(r.tenant.token, r.conversation) for r in requests}
    lost = sum(1 for key in expected for kind in KINDS if recorded.get(key, {}).get(kind, 0) == 0)
    doubled = sum(max(0, n - 1) for counts in recorded.values() for n in counts.values())
    strays = sum(1 for key in recorded if key not in expected)
    server_errors = sum(n for status, n in loaded.statuses.items() if status >= 500 or status == 0)
    ms = 1000.0
    p50, p99 = percentile(loaded.latencies_s, 50) * ms, percentile(loaded.latencies_s, 99) * ms
    solo_p50, solo_p99 = percentile(solo.latencies_s, 50) * ms, percentile(solo.latencies_s, 99) * ms
    throughput = len(requests) / loaded.wall_s
    mix = (f"{len(requests)} requests, {unique} distinct messages, {len(requests) - unique} duplicates, "
           f"4 tenants, concurrency 16; client, runner, handlers and moto share one process on this machine")
    return [
        Figure("webhook p50 under load (concurrency 16)", round(p50, 1), "ms",
               baseline_name="one request at a time", baseline_value=round(solo_p50, 1), notes=mix),
        Figure("webhook p99 under load (concurrency 16)", round(p99, 1), "ms",
               baseline_name="one request at a time", baseline_value=round(solo_p99, 1),
               notes=f"max {max(loaded.latencies_s) * ms:.0f} ms; mean {statistics.mean(loaded.latencies_s) * ms:.1f}"
                     " ms; HTTP round trip as the client sees it"),
        Figure("webhook throughput (concurrency 16)", round(throughput, 1), "req/s",
               baseline_name="one request at a time", baseline_value=round(len(solo_requests) / solo.wall_s, 1),
               notes=f"{len(requests)} requests in {loaded.wall_s:.1f} s"),
        Figure("queue drained after the last request", round(drain_s, 1) if drain_s is not None else -1, "s",
               notes="until every message's handoff message, note and toggle_status reached the Chatwoot stub "
                     "(-1: did not drain within 480 s); worker debounce set to 0.1 s for this run"),
        Figure("5xx or failed requests under load", server_errors, "count", target="0", met=server_errors == 0,
               notes=", ".join(f"{status}: {n}" for status, n in sorted(loaded.statuses.items()))
               + f"; 429 answers retried after Retry-After: {loaded.retried_429}"),
        Figure("Chatwoot calls lost (per source message and kind)", lost, "count", target="0", met=lost == 0,
               notes=f"{unique} messages x {len(KINDS)} calls expected"),
        Figure("Chatwoot calls doubled", doubled + strays, "count", target="0", met=doubled + strays == 0),
    ]
