"""Conversation pipeline figures: the receiver's warm handler time, the crew's wall time with a 300 ms stub LLM
(parallel vs sequential specialists), the worker's cold start, and the receiver's import time in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.context import settle
from bench.figures import Figure, percentile

ROOT = Path(__file__).resolve().parents[1]


def _code_paths(root: Path) -> list[str]:
    """The worker's and the receiver's code in a checkout (this one, or another to compare with)."""
    return [str(root / p) for p in ("layers/common", "functions/webhook", "tests")]


PATHS = _code_paths(ROOT)
HEAVY = ("crewai", "fastembed", "qdrant_client", "onnxruntime", "litellm")


def _receiver(ctx: Any) -> list[Figure]:
    """Warm handler time of new messages (the full path: tenant, HMAC, one transaction with both records and the
    history turn, the SQS send), with the GetItem round trip of the same run beside it."""
    import boto3
    import webhook_receiver

    from chatwoot_ai import aws
    from chatwoot_ai.conversation.history import HistoryStore
    from chatwoot_ai.conversation.intake import Intake, IntakeSettings
    from chatwoot_ai.settings import get_settings
    from devtools.chatwoot_payloads import incoming, signed
    from devtools.lambda_context import FakeLambdaContext

    cloud = ctx.cloud
    headers = {"X-Api-Key": cloud.admin_key}
    tenant_id, account = "bench_" + uuid.uuid4().hex[:6], 900_001
    for kind, body in (("config", {"company": {"name": "Bench"}, "chatwoot": {"base_url": "http://127.0.0.1:9"}}),
                       ("credentials", {"chatwoot_webhook_secret": "bench-secret"})):
        httpx.put(f"{cloud.url}/configs/{tenant_id}/default/{kind}", json=body, headers=headers,
                  timeout=30).raise_for_status()
    httpx.put(f"{cloud.url}/mapping", headers=headers, timeout=30, json={"mappings": [
        {"chatwoot_account_id": account, "chatwoot_inbox_id": 12, "tenant_id": tenant_id}]}).raise_for_status()
    # The jobs go to a queue no worker reads, so the measurement is the receiver's alone.
    sqs = boto3.client("sqs", endpoint_url=ctx.endpoint_url, region_name="us-east-1")
    queue = sqs.create_queue(QueueName=f"bench-{uuid.uuid4().hex[:6]}.fifo",
                             Attributes={"FifoQueue": "true"})["QueueUrl"]
    settings = get_settings()
    ddb = aws.client("dynamodb")
    settle(cloud)  # the config writes' stream events and their functions' cold starts run elsewhere in AWS

    def use(dedupe_delivery_id: bool) -> Any:
        intake = Intake(configs=webhook_receiver.get_config_cache(), sqs=aws.client("sqs"), queue_url=queue,
                        history=HistoryStore(settings.resources.history_table, settings.conversation.history_ttl_days),
                        idempotency_table=settings.resources.idempotency_table, dynamodb_client=aws.client("dynamodb"),
                        settings=IntakeSettings(dedupe_delivery_id=dedupe_delivery_id))
        return webhook_receiver.get_intake.override(intake)

    def event(message_id: int, delivery: str | None = None) -> dict[str, Any]:
        raw, hdrs = signed(incoming(account, 12, 5000 + message_id % 50, message_id, "Oi, tem tênis azul 42?"),
                           "bench-secret", delivery_id=delivery)
        return {"version": "2.0", "routeKey": "POST /webhooks/chatwoot", "rawPath": "/webhooks/chatwoot",
                "headers": {k.lower(): v for k, v in hdrs.items()}, "body": raw.decode(), "isBase64Encoded": False,
                "requestContext": {"http": {"method": "POST", "path": "/webhooks/chatwoot"}, "stage": "$default"}}

    def drain() -> None:
        while True:
            got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return
            sqs.delete_message_batch(QueueUrl=queue, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])

    def timed(events: list[dict[str, Any]]) -> list[float]:
        samples = []
        for index, ev in enumerate(events):
            if index % 20 == 0:
                # A worker drains the real queue; moto's FIFO send slows down linearly with queue depth (measured:
                # p50 9 ms when empty, 44 ms at 450 messages), so keep it near empty, outside the timing.
                drain()
            started = time.perf_counter()
            response = webhook_receiver.lambda_handler(ev, FakeLambdaContext("WebhookReceiverFunction"))
            samples.append(time.perf_counter() - started)
            assert response["statusCode"] == 200, response
        return samples

    with use(True):
        timed([event(i) for i in range(1, 11)])  # warm-up: caches, connections
        new = timed([event(i) for i in range(100, 400)])
        repeated = [event(100 + i, delivery=None) for i in range(100)]  # same messages again: duplicates
        dup = timed(repeated)
    with use(False):
        message_only = timed([event(i) for i in range(1000, 1300)])
    round_trips = []
    for i in range(200):
        started = time.perf_counter()
        ddb.get_item(TableName=settings.resources.idempotency_table, Key={"id": {"S": f"bench-{i}"}})
        round_trips.append(time.perf_counter() - started)
    drain()
    sends, transactions = [], []
    for i in range(100):  # the receiver's two round trips, each alone on the same emulated cloud
        started = time.perf_counter()
        sqs.send_message(QueueUrl=queue, MessageBody="{}", MessageGroupId=f"g{i % 7}",
                         MessageDeduplicationId=uuid.uuid4().hex)
        sends.append(time.perf_counter() - started)
        key = {"id": {"S": f"bench-tx-{uuid.uuid4().hex}"}}
        started = time.perf_counter()
        ddb.transact_write_items(TransactItems=[{"Put": {
            "TableName": settings.resources.idempotency_table, "Item": {**key, "n": {"N": str(i)}},
            "ConditionExpression": "attribute_not_exists(id)"}}])
        transactions.append(time.perf_counter() - started)
        if i % 20 == 19:
            drain()
    p50, p99 = percentile(new, 50) * 1000, percentile(new, 99) * 1000
    p99_message_only = percentile(message_only, 99) * 1000
    get_p50 = percentile(round_trips, 50) * 1000
    return [
        Figure("receiver warm handler p50 (new message)", round(p50, 2), "ms",
               baseline_name="DynamoDB GetItem p50, same run", baseline_value=round(get_p50, 2),
               target="<= 3x GetItem", met=p50 <= 3 * get_p50,
               notes="lambda_handler in-process on the emulated cloud (moto): mapping/config from the warm cache, "
                     "HMAC, then 2 sequential round trips: one TransactWriteItems (message record, delivery record, "
                     "history turn) and the SQS FIFO send"),
        Figure("receiver warm handler p99 (new message)", round(p99, 2), "ms", target="<= 20 ms", met=p99 <= 20,
               notes=f"{len(new)} messages, the queue drained every 20 outside the timing"),
        Figure("emulated cloud round trip (DynamoDB GetItem) p50", round(get_p50, 2), "ms",
               notes="moto served from the local stack's runner process (with its pollers); the unit the receiver's "
                     "figures are made of"),
        Figure("emulated SQS FIFO SendMessage p50 / TransactWriteItems (one Put) p50",
               round(percentile(sends, 50) * 1000, 2), "ms", baseline_name="TransactWriteItems p50",
               baseline_value=round(percentile(transactions, 50) * 1000, 2),
               notes="the receiver's two round trips alone on the same emulated cloud: moto's own cost per call "
                     "differs by API (its FIFO send and its transactions do more work than a GetItem)"),
        Figure("receiver warm handler p50 (duplicate message)", round(percentile(dup, 50) * 1000, 2), "ms",
               notes="the transaction's condition fails, the stored job is sent again (SQS drops it as a repeat)"),
        Figure("receiver warm handler p99, message-id record only", round(p99_message_only, 2), "ms",
               baseline_name="with the delivery-id record too", baseline_value=round(p99, 2), target="<= 20 ms",
               met=p99_message_only <= 20, notes="WEBHOOK_DEDUPE_DELIVERY_ID=false: one Put fewer in the same "
               f"transaction (no round trip fewer); p50 {percentile(message_only, 50) * 1000:.2f} ms"),
    ]


def _crew(parallel: bool, llm_url: str, rounds: int = 3) -> tuple[float, int]:
    from support.webhook_fixtures import FakeSearch

    from chatwoot_ai.conversation.crew import CrewFactory, Turn
    from chatwoot_ai.conversation.retrieval import Retriever
    from chatwoot_ai.models import TenantConfig

    search = FakeSearch({"bench": {c: [f"{c}: trecho relevante"] for c in
                                   ("business_rules", "support_documents", "products")}})
    factory = CrewFactory(lambda t: Retriever(t, search), specialist_timeout_s=30, parallel=parallel,
                          tools_factory=lambda *_args: [_echo_tool()], mcp_available=lambda _c: True,
                          economy=False)  # the full plan: what parallel specialists are measured on
    config = TenantConfig.model_validate({
        "company": {"name": "Bench"},
        # The full plan makes 6 calls a turn; the default budget (4) is the economical plan's.
        "llm": {"model": "openai/stub-model", "base_url": llm_url, "max_calls_per_turn": None},
        "odoo": {"url": "http://odoo.invalid", "db": "d", "username": "u"}})
    plan = factory.plan(config, "whatsapp")
    assert len(plan.specialists) == 4, plan.specialists
    walls = []
    for _ in range(rounds):
        started = time.perf_counter()
        result = factory.run(plan, config, "bench", "default", Turn(["tem tênis azul 42?"], []), "sk")
        walls.append(time.perf_counter() - started)
        assert result.answer, result
    return statistics.median(walls), len(plan.specialists)


def _echo_tool() -> Any:
    from crewai.tools import BaseTool

    class Echo(BaseTool):  # type: ignore[misc]
        name: str = "check_stock"
        description: str = "Stock of a product"

        def _run(self, **kwargs: Any) -> str:
            return "{}"

    return Echo()


def _crews() -> list[Figure]:
    from chatwoot_ai.conversation.crew import ensure_crewai
    from devtools.doubles import LlmStub

    ensure_crewai()
    with LlmStub(latency_s=0.3) as stub:
        stub.on("Intention analyst", answer='{"intent":"product","language":"pt-BR","wants_human":false,'
                                            '"confidence":0.9}')
        stub.default_answer = "Temos sim o tênis azul 42."
        _crew(True, stub.base_url, rounds=1)  # warm-up
        parallel, n = _crew(True, stub.base_url)
        sequential, _ = _crew(False, stub.base_url)
        calls_per_turn = len(stub.requests) // 7
    speedup = sequential / parallel
    return [
        Figure(f"crew wall time, {n} specialists in parallel", round(parallel, 3), "s",
               baseline_name="same crew, specialists in sequence", baseline_value=round(sequential, 3),
               notes=f"stub LLM sleeps 300 ms per call; intention + {n} specialists + response "
                     f"(~{calls_per_turn} LLM calls per turn); median of 3"),
        Figure("crew speedup from parallel specialists", round(speedup, 2), "x", target=">= 2x", met=speedup >= 2),
    ]


_COLD = r"""
import json, sys, time
t0 = time.perf_counter()
c0 = time.process_time()
import conversation_worker
t1 = time.perf_counter()
c1 = time.process_time()
from chatwoot_ai.conversation.agents import build_llm, crew_tasks, ensure_crewai, tenant_values
ensure_crewai()
t2 = time.perf_counter()
c2 = time.process_time()
from crewai import Crew
from chatwoot_ai.conversation.crew import CrewFactory, turn_values, Turn
from chatwoot_ai.models import TenantConfig
config = TenantConfig.model_validate({"company": {"name": "B"}, "llm": {"model": "openai/m",
                                      "base_url": "http://127.0.0.1:9/v1"}})
plan = CrewFactory(lambda t: None).plan(config, "whatsapp")
values = turn_values(Turn(["oi"], []), config)
built = [spec.build(values, build_llm(config, "k"), [])
         for spec in crew_tasks(tenant_values(config, plan.channel, plan.profile)).values()]
Crew(agents=[agent for agent, _ in built], tasks=[task for _, task in built], verbose=False)
t3 = time.perf_counter()
from chatwoot_ai.vector.embeddings import get_embedder
get_embedder().embed_query("vocês têm protetor solar?")
t4 = time.perf_counter()
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"handler_import": t1 - t0, "crewai_import": t2 - t1, "crew_build": t3 - t2,
                  "encoders": t4 - t3, "peak_mb": peak / 1024, "modules": len(sys.modules),
                  "handler_cpu": c1 - c0, "crewai_cpu": c2 - c1,
                  "chromadb": "chromadb" in sys.modules}))
"""

# One customer turn on a cold worker: a fresh interpreter imports the handler and runs the job through the deployed
# pipeline (crews_from_settings: real retrieval on an embedded Qdrant with the bundled encoders, the economical plan,
# crewai against the LLM stub, the history on moto, the reply to the Chatwoot stub). Only the tenant's config comes
# from a dict (FakeConfigs) instead of the config tables.
_FIRST_REPLY = r"""
import json, sys, time
t0 = time.perf_counter()
import conversation_worker
t1 = time.perf_counter()
spec = json.loads(sys.argv[1])
from pydantic import SecretStr
from support.webhook_fixtures import FakeConfigs
from chatwoot_ai import aws
from chatwoot_ai.chatwoot import ChatwootClient, ReplyLedger
from chatwoot_ai.conversation.crew import crews_from_settings
from chatwoot_ai.conversation.history import HistoryStore
from chatwoot_ai.conversation.pipeline import ConversationPipeline, PipelineSettings
from chatwoot_ai.conversation.queue_job import ConversationJob
from chatwoot_ai.models import Credentials, TenantConfig
from chatwoot_ai.settings import get_settings
from chatwoot_ai.conversation import crew, pipeline as pipeline_module
waited = {"crewai": 0.0, "debounce": 0.0}

def timed(fn, key):  # how long the worker's own thread spent in fn (the crew's ensure_crewai: waiting for crewai)
    def call(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            waited[key] += time.perf_counter() - started
    return call

crew.ensure_crewai = timed(crew.ensure_crewai, "crewai")
pipeline_module.wait_for_quiet = timed(pipeline_module.wait_for_quiet, "debounce")
settings = get_settings()
configs = FakeConfigs()
configs.configs[spec["tenant"]] = TenantConfig.model_validate(spec["config"])
configs.creds[spec["tenant"]] = Credentials(chatwoot_api_access_token=SecretStr("tok"), llm_api_key=SecretStr("sk"))
table = aws.table(settings.resources.history_table)
pipeline = ConversationPipeline(
    configs, HistoryStore(table), ReplyLedger(table), crews_from_settings(settings),
    lambda base_url, token: ChatwootClient(base_url, token),
    PipelineSettings(settings.conversation.debounce_s, settings.conversation.debounce_max_s))
outcome = pipeline.process(ConversationJob.model_validate(spec["job"]))
t2 = time.perf_counter()
print(json.dumps({"handler_import": t1 - t0, "first_reply": t2 - t0, "cpu": time.process_time(),
                  "outcome": outcome, "since_message_ms": time.time() * 1000 - spec["job"]["received_at_ms"],
                  "crewai_wait": waited["crewai"], "debounce_wait": waited["debounce"]}))
"""


def _env(root: Path = ROOT) -> dict[str, str]:
    # Not the bench stack's shared Qdrant (its LocalCloud points this process at it): each run names its own store.
    env = {k: v for k, v in os.environ.items() if k not in ("QDRANT_CLIENT_FACTORY", "LOCALCLOUD_QDRANT")}
    env["PYTHONPATH"] = os.pathsep.join([*_code_paths(root), str(root)])  # root: devtools (tests/support uses it)
    env.update(CREWAI_DISABLE_TELEMETRY="true", OTEL_SDK_DISABLED="true")
    return env


def cold_breakdown(runs: int = 3, root: Path = ROOT) -> dict[str, float]:
    """`_COLD` in `runs` fresh interpreters: the median of each part (s), peak RSS (MB) and module count."""
    out = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", _COLD], capture_output=True, text=True, env=_env(root),
                              timeout=300, cwd="/tmp", check=True)
        out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {k: statistics.median(float(r.get(k, 0)) for r in out) for k in out[0]}


# (label, code root, CONVERSATION_PREWARM_CREWAI) of each way a cold worker is run.
FIRST_REPLY_VARIANTS: tuple[tuple[str, Path, bool], ...] = (("prewarm", ROOT, True), ("first call", ROOT, False))


def first_reply(runs: int = 3, variants: tuple[tuple[str, Path, bool], ...] = FIRST_REPLY_VARIANTS,
                ) -> dict[str, list[dict[str, Any]]]:
    """`_FIRST_REPLY` `runs` times per variant, alternating, each a fresh interpreter answering one product question
    of the demo store (one LLM call of 300 ms in the economical plan), with the default debounce (2 s). A variant's
    root may be another checkout of this repo (the code before a change)."""
    import tempfile

    import boto3
    from qdrant_client import QdrantClient
    from support.conversation_set import demo_tenant, script_llm
    from support.retrieval_eval import corpus_records
    from support.webhook_fixtures import create_pipeline_resources

    from chatwoot_ai.conversation.history import HistoryStore, conversation_pk
    from chatwoot_ai.vector.embeddings import build_embedder
    from chatwoot_ai.vector.indexing import index_message
    from chatwoot_ai.vector.models import VectorizeMessage
    from chatwoot_ai.vector.store import VectorStore
    from devtools.doubles import ChatwootStub, LlmStub
    from localcloud.cloud import start_moto

    tenant = "bench_cold"
    results: dict[str, list[dict[str, Any]]] = {label: [] for label, _root, _prewarm in variants}
    with tempfile.TemporaryDirectory() as qdrant_path, LlmStub(latency_s=0.3) as llm, ChatwootStub() as chatwoot:
        store = VectorStore(QdrantClient(path=qdrant_path), local=True)
        embedder = build_embedder("bundled")
        for collection, records in corpus_records("demo_store").items():
            index_message(VectorizeMessage(job_id="bench", tenant_id=tenant, collection=collection, part=0,
                                           records=records), store, embedder)
        store.client.close()
        script_llm(llm)
        for key, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench")):
            os.environ.setdefault(key, value)  # moto takes any; the bench process may have none
        server, endpoint = start_moto()  # the stack's emulated cloud, in a process of its own
        try:
            names = create_pipeline_resources(endpoint, "cold" + uuid.uuid4().hex[:6])
            table = boto3.resource("dynamodb", endpoint_url=endpoint, region_name="us-east-1").Table(
                names["history_table"])
            history = HistoryStore(table)
            config = {**demo_tenant(llm.base_url).model_dump(mode="json"), "chatwoot": {"base_url": chatwoot.url}}
            for conversation in range(1, runs * len(variants) + 1):
                label, root, prewarm = variants[conversation % len(variants)]
                env = {**_env(root), "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench",
                       "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
                       "HISTORY_TABLE": names["history_table"], "QDRANT_PATH": qdrant_path,
                       "CONVERSATION_PREWARM_CREWAI": str(prewarm).lower()}
                llm.requests.clear()
                job = {"tenant_id": tenant, "channel": "whatsapp", "account_id": 3, "inbox_id": 12,
                       "conversation_id": conversation, "message_id": 7000 + conversation,
                       "content": "Quanto custa o protetor solar FPS 50?", "sender_name": "Maria",
                       "conversation_status": "pending", "received_at_ms": int(time.time() * 1000)}
                # What the receiver did before the job reached the worker: the turn is in the history.
                history.add_turn(conversation_pk(tenant, 3, conversation), "customer", str(job["content"]),
                                 int(job["message_id"]), int(job["received_at_ms"]))
                done = subprocess.run([sys.executable, "-c", _FIRST_REPLY, json.dumps(
                    {"tenant": tenant, "config": config, "job": job})], capture_output=True, text=True, env=env,
                    timeout=300, cwd="/tmp")
                if done.returncode != 0:
                    raise RuntimeError(done.stderr[-2000:])
                result = json.loads(done.stdout.strip().splitlines()[-1])
                result["llm_calls"] = len(llm.requests)
                result["replies"] = chatwoot.replies(conversation)
                results[label].append(result)
        finally:
            server.stop()
    return results


def _cold_start() -> list[Figure]:
    median = cold_breakdown()
    total = sum(median[k] for k in ("handler_import", "crewai_import", "crew_build", "encoders"))
    replies = first_reply()
    reply = {label: statistics.median(r["first_reply"] for r in runs) for label, runs in replies.items()}
    cpu = {label: statistics.median(r["cpu"] for r in runs) for label, runs in replies.items()}
    wait = {label: statistics.median(r["crewai_wait"] for r in runs) for label, runs in replies.items()}
    debounce = statistics.median(r["debounce_wait"] for runs in replies.values() for r in runs)
    handler = statistics.median(r["handler_import"] for runs in replies.values() for r in runs)
    calls = sorted({r["llm_calls"] for runs in replies.values() for r in runs})
    outcomes = sorted({r["outcome"] for runs in replies.values() for r in runs})
    return [Figure("worker cold start (imports + crewai + crew build + encoders)", round(total, 2), "s",
                   notes=f"fresh interpreter, median of 3: handler import {median['handler_import']:.2f} s, "
                         f"crewai import {median['crewai_import']:.2f} s ({median['crewai_cpu']:.2f} s of CPU; "
                         "crewai's RAG layer and embedding providers deferred, chromadb "
                         f"{'still imported by crewai.knowledge' if median['chromadb'] else 'not imported'}), "
                         f"building the 6 agents and tasks {median['crew_build']:.2f} s, loading the bundled "
                         f"encoders and embedding one query {median['encoders']:.2f} s; {median['modules']:.0f} "
                         "modules; the parts a cold worker pays in sequence when nothing overlaps (crewai loads "
                         "only for a tenant with an LLM; turns answered without a call never import it)"),
            Figure("worker process peak RSS after its cold start", round(median["peak_mb"], 1), "MB",
                   notes="VmHWM of the same fresh interpreter: handler, crewai, one crew, e5 + USE"),
            Figure("time to first reply on a cold worker (crewai prewarmed during the debounce)",
                   round(reply["prewarm"], 2), "s",
                   baseline_name="crewai imported at the first model call (CONVERSATION_PREWARM_CREWAI=false)",
                   baseline_value=round(reply["first call"], 2),
                   notes=f"a fresh interpreter per run (median of 3 each, alternating): handler import (median "
                         f"{handler:.2f} s), then one job through the deployed pipeline: history on moto, the "
                         "default 2 s debounce, retrieval on an embedded Qdrant with the bundled encoders, the "
                         f"economical plan's one response call to the stub LLM (300 ms; calls per run: {calls}), "
                         f"the reply to the Chatwoot stub; outcomes {outcomes}. Timed from the interpreter's first "
                         "line to the reply sent; the tenant config comes from a dict, not the config tables. "
                         f"CPU of the whole process (all threads): {cpu['prewarm']:.2f} s prewarmed, "
                         f"{cpu['first call']:.2f} s not: the prewarm moves work into the debounce wait "
                         f"(median {debounce:.2f} s), it does not remove any. The turn's thread waited for crewai "
                         f"{wait['prewarm']:.2f} s prewarmed vs {wait['first call']:.2f} s (the import itself)")]


# Where the receiver's import time goes (cumulative ms of each, where it is first imported).
PARTS = ("botocore.config", "botocore.exceptions", "pydantic", "aws_lambda_powertools", "chatwoot_ai.settings",
         "chatwoot_ai.config", "chatwoot_ai.conversation.intake")
# Lambda's Python runtime ships boto3 and botocore without awscrt, and the layer does not add it (requirements.txt);
# this venv has it (for other tools), and botocore imports it when present (~100-300 ms). Hidden as in Lambda.
WITHOUT_CRT = "import sys; sys.modules['awscrt'] = None; "


def receiver_import_ms(runs: int = 7, prefix: str = WITHOUT_CRT) -> tuple[float, list[str], dict[str, float]]:
    """`python -X importtime -c "import webhook_receiver"` in fresh interpreters: median ms, heavy modules seen,
    median ms of the big parts."""
    totals, heavy = [], set()
    parts: dict[str, list[float]] = {p: [] for p in PARTS}
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", prefix + "import webhook_receiver"],
                             capture_output=True, text=True, env=_env(), timeout=120, cwd="/tmp", check=True)
        for line in out.stderr.splitlines():
            name = line.rsplit("|", 1)[-1].strip()
            if name.split(".")[0] in HEAVY:
                heavy.add(name.split(".")[0])
            if name == "webhook_receiver":
                totals.append(int(line.split("|")[1]) / 1000)
            if name in parts:
                parts[name].append(int(line.split("|")[1]) / 1000)
    return (statistics.median(totals), sorted(heavy),
            {p: statistics.median(v) for p, v in parts.items() if v})


def _import_time() -> list[Figure]:
    ms, heavy, parts = receiver_import_ms()
    with_crt, _, _ = receiver_import_ms(prefix="")
    breakdown = ", ".join(f"{p} {v:.0f}" for p, v in parts.items())
    return [Figure("webhook_receiver import, fresh interpreter", round(ms, 1), "ms",
                   target="<= 250 ms, no heavy libs", met=ms <= 250 and not heavy,
                   baseline_name="with awscrt installed (this venv)", baseline_value=round(with_crt, 1),
                   notes="python -X importtime, median of 7, awscrt hidden as in Lambda's runtime; heavy libraries "
                         "imported: " + (", ".join(heavy) or "none")
                         + f"; cumulative ms where first imported: {breakdown}")]


def run(ctx: Any) -> list[Figure]:
    for path in PATHS:
        if path not in sys.path:
            sys.path.insert(0, path)
    return _import_time() + _receiver(ctx) + _crews() + _cold_start()
