"""The Crew Factory: builds and runs a channel's crew with only the agents the tenant enabled.

Shape of one run (a turn = the customer's new messages, debounced):

    intention ─┐
    business_rules ─┤  in parallel, each with a timeout and a fallback (its retrieval hits, or nothing)
    support_documents ─┤
    products ─┤
    odoo (MCP tools) ─┘
            └──▶ response (the tenant's voice, the channel's format, the customer's language)

Each agent runs in its own one-task crewai Crew so a slow or failing specialist cannot hold up the others; the
response crew gets what came back in time. Retrieval happens here, in code, with the tenant resolved from the mapping;
the LLM never chooses whose data is searched. crewai is imported on first use, never at module import.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from chatwoot_ai.conversation.prompts import EMOJI_RULES, STYLES, fill, format_rules, load_yaml
from chatwoot_ai.conversation.retrieval import (
    RETRIEVAL_COLLECTIONS,
    Hit,
    Retriever,
    answer_from_hits,
    context_text,
    retrieval_query,
)
from chatwoot_ai.models import TenantConfig
from chatwoot_ai.observability import logger

SPECIALISTS = ("business_rules", "support_documents", "products", "odoo")
HANDOFF_TOKEN = "HANDOFF"

_setup_lock = threading.Lock()
_crewai_ready = False


def ensure_crewai() -> None:
    """Imports crewai once, with its process-wide file locks swapped for in-process ones.

    crewai guards its kickoff output store with a portalocker file lock that polls every ~0.25 s, which serialises
    concurrent crews in one process (measured: 4 parallel one-call crews took 1.25 s instead of 0.4 s). A Lambda
    instance is one process, so named threading locks give the same safety without the polling.
    """
    global _crewai_ready
    if _crewai_ready:
        return
    with _setup_lock:
        if _crewai_ready:
            return
        import logging
        import os

        os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
        os.environ.setdefault("OTEL_SDK_DISABLED", "true")
        os.environ.setdefault("CREWAI_TRACING_ENABLED", "false")
        import crewai  # noqa: F401
        from crewai_core.lock_store import set_lock_backend

        locks: dict[str, threading.Lock] = {}
        guard = threading.Lock()

        @contextmanager
        def in_process_lock(name: str, timeout: float = 120) -> Any:
            with guard:
                lock = locks.setdefault(name, threading.Lock())
            if not lock.acquire(timeout=timeout):
                raise TimeoutError(f"lock {name} not acquired within {timeout} s")
            try:
                yield
            finally:
                lock.release()

        set_lock_backend(in_process_lock)
        # One warning per LLM call about approximate token counts otherwise.
        logging.getLogger("crewai.llms.base_llm").setLevel(logging.ERROR)
        _crewai_ready = True


@dataclass
class Turn:
    """What the crew answers: the customer's new messages and the conversation before them."""

    messages: list[str]
    history: list[tuple[str, str]]  # (role, content), oldest first
    customer_name: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.messages)


@dataclass
class SpecialistResult:
    name: str
    text: str
    ok: bool
    fallback: bool = False
    elapsed_s: float = 0.0
    error: str = ""


@dataclass
class CrewResult:
    answer: str | None
    intent: str = "other"
    language: str = ""
    wants_human: bool = False
    confidence: float = 1.0
    handoff: str | None = None  # "low_confidence" | "no_answer" | "failure" | "customer_request"
    handoff_detail: str = ""
    used_llm: bool = False
    specialists: list[SpecialistResult] = field(default_factory=list)
    elapsed_s: float = 0.0


@dataclass
class CrewPlan:
    """Which agents a tenant's crew has on a channel."""

    channel: str
    profile: dict[str, Any]
    specialists: list[str]
    use_llm: bool


class CrewFactory:
    """Builds and runs crews. `llm_factory(config, api_key) -> crewai LLM`, `tools_factory(tenant_id, domain)`
    -> crewai tools for the MCP agent (empty when Odoo is not reachable)."""

    def __init__(self, retriever_factory: Callable[[str], Retriever], *, specialist_timeout_s: float = 25.0,
                 parallel: bool = True, tools_factory: Callable[[str, str], list[Any]] | None = None,
                 mcp_available: Callable[[TenantConfig], bool] | None = None) -> None:
        self.retriever_factory = retriever_factory
        self.specialist_timeout_s = specialist_timeout_s
        self.parallel = parallel
        self.tools_factory = tools_factory
        self.mcp_available = mcp_available or (lambda _config: False)

    # ------------------------------------------------------------------ plan
    def plan(self, config: TenantConfig, channel: str, profile: dict[str, Any]) -> CrewPlan:
        specialists = [c for c in RETRIEVAL_COLLECTIONS if c in config.enabled_collections]
        if config.llm_enabled and config.odoo is not None and self.mcp_available(config):
            specialists.append("odoo")
        return CrewPlan(channel, profile, specialists, config.llm_enabled)

    # ------------------------------------------------------------------ run
    def run(self, plan: CrewPlan, config: TenantConfig, tenant_id: str, domain: str, turn: Turn,
            llm_api_key: str | None) -> CrewResult:
        started = time.perf_counter()
        retriever = self.retriever_factory(tenant_id)
        if not plan.use_llm:
            result = self._retrieval_only(plan, retriever, turn, config)
        else:
            try:
                result = self._with_llm(plan, config, tenant_id, domain, turn, llm_api_key, retriever)
            except Exception as exc:  # the LLM path failed as a whole: same answer as without an LLM
                logger.exception("crew failed; answering from retrieval alone", extra={"tenant_id": tenant_id})
                result = self._retrieval_only(plan, retriever, turn, config)
                if result.answer is None:
                    result.handoff, result.handoff_detail = "failure", type(exc).__name__
        result.elapsed_s = time.perf_counter() - started
        return result

    def _retrieval_only(self, plan: CrewPlan, retriever: Retriever, turn: Turn, config: TenantConfig) -> CrewResult:
        query = retrieval_query(turn.text, turn.history)
        hits = {c: retriever.search(c, query) for c in plan.specialists if c in RETRIEVAL_COLLECTIONS}
        answer = answer_from_hits(hits, config.company.language)
        if answer is None:
            return CrewResult(None, language=config.company.language, handoff="no_answer",
                              handoff_detail="no LLM configured and nothing found in the tenant's collections")
        return CrewResult(answer, language=config.company.language)

    def _with_llm(self, plan: CrewPlan, config: TenantConfig, tenant_id: str, domain: str, turn: Turn,
                  llm_api_key: str | None, retriever: Retriever) -> CrewResult:
        ensure_crewai()
        values = self._values(plan, config, turn)
        hits: dict[str, list[Hit]] = {}
        hits_lock = threading.Lock()

        def specialist(name: str) -> SpecialistResult:
            t0 = time.perf_counter()
            task_values = dict(values)
            tools: list[Any] = []
            if name in RETRIEVAL_COLLECTIONS:
                found = retriever.search(name, retrieval_query(turn.text, turn.history))
                with hits_lock:
                    hits[name] = found
                if not found:  # nothing to read: no need to ask a model
                    return SpecialistResult(name, "NONE", True, elapsed_s=time.perf_counter() - t0)
                task_values["context"] = context_text(found)
            elif name == "odoo" and self.tools_factory is not None:
                tools = self.tools_factory(tenant_id, domain)
                if not tools:
                    return SpecialistResult(name, "NONE", False, True, time.perf_counter() - t0, "no tools")
            text = self._kickoff(name, task_values, config, llm_api_key, tools)
            return SpecialistResult(name, text, True, elapsed_s=time.perf_counter() - t0)

        def intention() -> SpecialistResult:
            t0 = time.perf_counter()
            return SpecialistResult("intention", self._kickoff("intention", values, config, llm_api_key, []), True,
                                    elapsed_s=time.perf_counter() - t0)

        jobs: dict[str, Callable[[], SpecialistResult]] = {"intention": intention}
        for name in plan.specialists:
            jobs[name] = lambda n=name: specialist(n)  # type: ignore[misc]
        results = self._run_all(jobs)

        intent = _parse_intention(results["intention"].text if results["intention"].ok else "")
        result = CrewResult(None, intent=intent["intent"], language=intent["language"] or config.company.language,
                            wants_human=intent["wants_human"], confidence=intent["confidence"], used_llm=True,
                            specialists=list(results.values()))
        for name in plan.specialists:  # a failed specialist falls back to its raw hits
            res = results[name]
            if not res.ok and name in hits and hits[name]:
                res.text, res.fallback = context_text(hits[name], 1500), True
        if intent["wants_human"]:
            result.handoff, result.handoff_detail = "customer_request", "the intention agent says so"
            return result
        if intent["confidence"] < config.handoff.min_confidence:
            result.handoff = "low_confidence"
            result.handoff_detail = f"confidence {intent['confidence']:.2f} < {config.handoff.min_confidence:.2f}"
            return result
        facts = "\n\n".join(f"## {name}\n{results[name].text.strip()}" for name in plan.specialists
                            if results[name].text.strip() and results[name].text.strip().upper() != "NONE")
        values.update(intent=intent["intent"], language=result.language, facts=facts or "(no facts found)")
        all_failed = bool(plan.specialists) and all(not results[n].ok for n in plan.specialists)
        try:
            answer = self._kickoff("response", values, config, llm_api_key, []).strip()
        except Exception as exc:
            logger.warning("response agent failed; answering from retrieval alone",
                           extra={"tenant_id": tenant_id, "error": type(exc).__name__})
            answer = answer_from_hits(hits, result.language) or ""
            result.used_llm = False
            if not answer:
                result.handoff, result.handoff_detail = "failure", f"response agent: {type(exc).__name__}"
                return result
        if not answer or answer.strip().strip(".").upper() == HANDOFF_TOKEN:
            result.handoff = "failure" if all_failed else "no_answer"
            result.handoff_detail = "the response agent could not answer from the facts found"
            return result
        result.answer = answer
        return result

    def _run_all(self, jobs: dict[str, Callable[[], SpecialistResult]]) -> dict[str, SpecialistResult]:
        """Every job with its own deadline; in parallel unless configured otherwise (the bench compares both)."""
        results: dict[str, SpecialistResult] = {}
        if not self.parallel:
            for name, job in jobs.items():
                results[name] = _guarded(name, job)
            return results
        pool = ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="specialist")
        try:
            futures: dict[str, Future[SpecialistResult]] = {n: pool.submit(_guarded, n, j) for n, j in jobs.items()}
            wait(list(futures.values()), timeout=self.specialist_timeout_s)
            for name, future in futures.items():
                if future.done():
                    results[name] = future.result()
                else:
                    logger.warning("specialist timed out; using its fallback", extra={"specialist": name})
                    results[name] = SpecialistResult(name, "", False, True, self.specialist_timeout_s, "timeout")
        finally:
            pool.shutdown(wait=False, cancel_futures=True)  # a late specialist finishes in the background, unused
        return results

    # ------------------------------------------------------------------ crewai
    def _values(self, plan: CrewPlan, config: TenantConfig, turn: Turn) -> dict[str, Any]:
        history = "\n".join(f"{'Customer' if role == 'customer' else 'Assistant'}: {content}"
                            for role, content in turn.history[-12:]) or "(first message)"
        assistant = config.assistant
        return {
            "company_name": config.company.name,
            "company_language": config.company.language,
            "assistant_name": assistant.name,
            "style": STYLES.get(assistant.style, assistant.style),
            "emoji_rule": EMOJI_RULES.get(assistant.emoji_usage, "") if plan.profile.get("emoji", True)
            else EMOJI_RULES["none"],
            "messages": "\n".join(f"- {m}" for m in turn.messages),
            "history": history,
            "handoff_keywords": ", ".join(config.handoff.keywords) or "(none)",
            "channel_label": plan.profile.get("label", plan.channel),
            "format_rules": format_rules(plan.profile, assistant.emoji_usage),
            "context": "(nothing found)",
            "intent": "other",
            "language": config.company.language,
            "facts": "",
        }

    def _kickoff(self, name: str, values: dict[str, Any], config: TenantConfig, llm_api_key: str | None,
                 tools: list[Any]) -> str:
        from crewai import Agent, Crew, Process, Task

        agent_spec = load_yaml("agents.yaml")[name]
        task_spec = load_yaml("tasks.yaml")[name]
        agent = Agent(
            role=fill(agent_spec["role"], values).strip(),
            goal=fill(agent_spec["goal"], values).strip(),
            backstory=fill(agent_spec["backstory"], values).strip(),
            llm=build_llm(config, llm_api_key),
            tools=tools,
            allow_delegation=False,
            max_iter=4 if tools else 1,
            max_retry_limit=0,
            verbose=False,
        )
        task = Task(description=fill(task_spec["description"], values), agent=agent,
                    expected_output=fill(task_spec["expected_output"], values).strip())
        crew = Crew(agents=[agent], tasks=[task], process=Process.sequential, verbose=False)
        output: Any = crew.kickoff()
        return str(output.raw or "")


def _guarded(name: str, job: Callable[[], SpecialistResult]) -> SpecialistResult:
    t0 = time.perf_counter()
    try:
        return job()
    except Exception as exc:
        logger.warning("specialist failed; using its fallback", extra={"specialist": name,
                                                                        "error": type(exc).__name__})
        return SpecialistResult(name, "", False, True, time.perf_counter() - t0, type(exc).__name__)


_llms: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_llms_lock = threading.Lock()
_LLM_CACHE_SIZE = 32


def build_llm(config: TenantConfig, api_key: str | None) -> Any:
    """crewai's LLM for the tenant: any provider by model string; an OpenAI-compatible `base_url` works too.

    Instances are shared by the agents of a turn and by later turns of the same settings: creating one builds two
    HTTP clients with fresh TLS contexts (~95 ms of CPU measured, under the GIL, so it also serialised the parallel
    specialists), and a shared one reuses its connections. crewai documents an LLM as safe to call concurrently
    (per-call stop words go through a ContextVar).
    """
    from crewai import LLM

    assert config.llm is not None and config.llm.model
    kwargs: dict[str, Any] = {"model": config.llm.model, "temperature": config.llm.temperature,
                              "timeout": config.llm.timeout_s, "max_retries": 1}
    if config.llm.base_url:
        kwargs["base_url"] = config.llm.base_url
    if api_key:
        kwargs["api_key"] = api_key
    elif config.llm.base_url:
        kwargs["api_key"] = "not-needed"  # local OpenAI-compatible servers accept any key; the SDK wants one
    key_digest = hashlib.sha256(str(kwargs.get("api_key", "")).encode()).hexdigest()
    cache_key = (config.llm.model, config.llm.base_url, config.llm.temperature, config.llm.timeout_s, key_digest)
    with _llms_lock:
        found = _llms.get(cache_key)
        if found is not None:
            _llms.move_to_end(cache_key)
            return found
    llm = LLM(**kwargs)
    with _llms_lock:
        _llms[cache_key] = llm
        while len(_llms) > _LLM_CACHE_SIZE:
            _llms.popitem(last=False)
    return llm


_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def _parse_intention(text: str) -> dict[str, Any]:
    """The intention agent's JSON, leniently; anything unreadable means "no opinion" (confident, no handoff)."""
    out: dict[str, Any] = {"intent": "other", "language": "", "wants_human": False, "confidence": 1.0}
    found = _JSON_OBJECT.search(text or "")
    if not found:
        return out
    try:
        data = json.loads(found.group(0))
    except ValueError:
        return out
    if not isinstance(data, dict):
        return out
    out["intent"] = str(data.get("intent") or "other")[:40]
    out["language"] = str(data.get("language") or "")[:20]
    out["wants_human"] = data.get("wants_human") is True or str(data.get("wants_human")).lower() == "true"
    with contextlib.suppress(TypeError, ValueError):
        out["confidence"] = max(0.0, min(1.0, float(data.get("confidence", 1.0))))
    return out
