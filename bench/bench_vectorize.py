"""Vectorize: end-to-end throughput (POST /vectorize -> searchable) against raw embedding with the same model set in
the same run, re-send of unchanged records, search latency over HTTP and in-process. Retrieval quality, encoders
and query latency at scale: bench_retrieval.py."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from bench.figures import Figure, median, percentile

RECORDS = 400


def _records(n: int) -> list[dict[str, Any]]:
    """Catalogue-like pt-BR records: the demo store's products and services, varied so none repeats."""
    from support.ptbr_eval import product_records

    base = product_records()
    out = []
    for i in range(n):
        record = base[i % len(base)]
        out.append({"id": f"p{i}", "text": f"{record['text']} Lote {i}, edição {i // len(base)}.",
                    "metadata": dict(record["metadata"], lot=i)})
    return out


def _wait(client: httpx.Client, job_id: str, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/vectorize/jobs/{job_id}").json()
        if job.get("status") in ("done", "failed"):
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} did not finish: {job}")
        time.sleep(0.05)


def _push(client: httpx.Client, tenant_id: str, records: list[dict[str, Any]]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = client.post("/vectorize", json={"tenant_id": tenant_id, "collection": "products", "records": records})
    response.raise_for_status()
    job = _wait(client, response.json()["job_id"])
    return time.perf_counter() - started, job


def run(ctx: Any) -> list[Figure]:
    from chatwoot_ai.vector.embeddings import get_embedder
    from chatwoot_ai.vector.search import search

    cloud = ctx.cloud
    embedder = get_embedder()  # the same process-wide model the worker uses
    records = _records(RECORDS)
    texts = [r["text"] for r in records]
    embedder.embed_documents(texts[:64])  # warm-up

    raw_cpu: list[float] = []

    def raw() -> float:
        started, cpu = time.perf_counter(), time.process_time()
        embedder.embed_documents(texts)
        raw_cpu.append(time.process_time() - cpu)
        return len(texts) / (time.perf_counter() - started)

    # The machine is shared: raw throughput is measured before and after, and the better one is the baseline.
    # CPU seconds of this whole process (the stack runs in it) per record are reported too: other processes'
    # load changes wall-clock figures much more than it changes CPU time.
    raw_rates = [raw()]

    tenant_id = "bench_" + uuid.uuid4().hex[:8]
    with httpx.Client(base_url=cloud.url, headers={"X-Api-Key": ctx.admin_key}, timeout=120) as client:
        _push(client, "bench_warm", records[:8])  # cold starts (handlers, collection) out of the measurement
        cpu0 = time.process_time()
        first_s, first = _push(client, tenant_id, records)
        e2e_cpu = time.process_time() - cpu0
        hits = client.post("/search", json={"tenant_id": tenant_id, "collection": "products",
                                            "query": records[-1]["text"], "limit": 1}).json()["results"]
        searchable = bool(hits) and hits[0]["id"] == records[-1]["id"]
        resend_s, resend = _push(client, tenant_id, records)

        queries = ["protetor solar para pele oleosa", "sabonete pele seca", "quanto custa o sérum de vitamina c",
                   "massagem relaxante", "hidratante com ácido hialurônico"]
        http_samples = []
        for i in range(60):
            t0 = time.perf_counter()
            client.post("/search", json={"tenant_id": tenant_id, "collection": "products",
                                         "query": queries[i % len(queries)], "limit": 5}).raise_for_status()
            http_samples.append(time.perf_counter() - t0)
    raw_rates.append(raw())
    raw_rate = max(raw_rates)
    inproc = []
    for i in range(60):
        t0 = time.perf_counter()
        search(tenant_id, "products", queries[i % len(queries)], 5)
        inproc.append(time.perf_counter() - t0)

    e2e_rate = RECORDS / first_s
    figures = [
        Figure("end-to-end vectorize throughput", e2e_rate, "records/s", baseline_name="raw embedding, same texts",
               baseline_value=raw_rate, target=">= 0.70 of raw", met=e2e_rate >= 0.7 * raw_rate,
               notes=(f"{RECORDS} records (~{sum(map(len, texts)) // RECORDS} chars) from POST /vectorize to job done "
                      f"over the local stack (moto SQS + DynamoDB, embedded Qdrant); processed={first['processed']}, "
                      f"searchable right after: {searchable}; "
                      f"raw runs {raw_rates[0]:.1f} and {raw_rates[1]:.1f} records/s")),
        Figure("end-to-end CPU efficiency", min(raw_cpu) / e2e_cpu, "raw CPU s / end-to-end CPU s",
               target=">= 0.70", met=min(raw_cpu) / e2e_cpu >= 0.7,
               notes=(f"process CPU time for the {RECORDS} records: raw embedding {min(raw_cpu):.1f} s, end to end "
                      f"{e2e_cpu:.1f} s (API, SQS, DynamoDB, worker, Qdrant and every idle poller of the stack)")),
        Figure("re-send unchanged records", first_s / resend_s, "x faster", baseline_name="first send (s)",
               baseline_value=first_s, target=">= 10x", met=first_s / resend_s >= 10,
               notes=f"re-send took {resend_s:.2f} s; skipped={resend['skipped']} of {RECORDS}"),
        Figure("search p50 over HTTP (hybrid)", median(http_samples) * 1000, "ms",
               notes=f"p95 {percentile(http_samples, 95) * 1000:.1f} ms; {RECORDS} points of this tenant"),
        Figure("search p50 in-process (hybrid)", median(inproc) * 1000, "ms",
               notes="chatwoot_ai.vector.search(), as the conversation worker calls it"),
    ]
    return figures
