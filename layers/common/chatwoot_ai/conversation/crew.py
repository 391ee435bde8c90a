"""The Crew Factory: which agents a tenant's crew has on a channel (`plan`: what DESIGN.md calls the Hub), and one
turn through them (`run`).

The turn's plan (`economy=True`, the default) asks a model only where one is needed (docs/conversation.md, "The
plan"): small talk is answered from keywords (no call); retrieval runs in code and its gated excerpts go to the
response agent as facts (a specialist summarises only excerpts too long for it); nothing relevant and no live data
means "let me check with the team" and a handoff (no call); the Odoo agent runs only when the turn needs live data,
and an order reference is looked up in code; the response agent writes the reply (one call, a second only when the
grounding check rejects the first). The full plan below (`economy=False`) is the seed's, kept for the bench:

    intention ─┐
    business_rules ─┤  specialists: in parallel, each with a timeout and a fallback (its retrieval hits, or nothing)
    support_documents ─┤
    products ─┤
    odoo (MCP tools) ─┘
            └──▶ decide (the intention's handoff rules) ──▶ compose: the response agent writes the one answer
                                                             (the tenant's voice, the channel's format, the customer's
                                                             language)

Each agent runs in its own one-task crewai Crew so a slow or failing specialist cannot hold up the others; the
response agent gets what came back in time. Retrieval happens here, in code, with the tenant resolved from the
mapping; the LLM never chooses whose data is searched. Agents and tasks: agents.py; every handoff rule: handoff.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from chatwoot_ai.conversation import handoff
from chatwoot_ai.conversation.agents import (
    TaskSpec,
    build_llm,
    counting_copy,
    crew_tasks,
    ensure_crewai,
    prewarm_crewai,
    tenant_values,
)
from chatwoot_ai.conversation.answer import extractive_answer, small_talk, small_talk_reply
from chatwoot_ai.conversation.economy import (
    BudgetExceeded,
    TurnUsage,
    needs_live_data,
    order_reference,
    ungrounded_numbers,
)
from chatwoot_ai.conversation.handoff import HandoffDecision
from chatwoot_ai.conversation.intention import Intention
from chatwoot_ai.conversation.prompts import channel_profile
from chatwoot_ai.conversation.retrieval import (
    RETRIEVAL_COLLECTIONS,
    Hit,
    Retriever,
    context_text,
    retrieval_query,
)
from chatwoot_ai.identity import VERIFICATION_REQUIRED, CustomerIdentity
from chatwoot_ai.models import CHANNELS, TenantConfig
from chatwoot_ai.observability import logger

if TYPE_CHECKING:
    from chatwoot_ai.settings import Settings

SPECIALISTS = ("business_rules", "support_documents", "products", "odoo")
NOTHING = "NONE"  # what a specialist answers when nothing it found is relevant (tasks.yaml)


@dataclass
class Turn:
    """What the crew answers: the customer's new messages and the conversation before them."""

    messages: list[str]
    history: list[tuple[str, str]]  # (role, content), oldest first
    customer_name: str | None = None
    # The Chatwoot contact the Odoo tools answer for (signed into each gateway call; None: nobody verified).
    customer: CustomerIdentity | None = None

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

    @property
    def says_something(self) -> bool:
        return bool(self.text.strip()) and self.text.strip().upper() != NOTHING


@dataclass
class CrewResult:
    answer: str | None
    intent: str = "other"
    language: str = ""
    wants_human: bool = False
    confidence: float = 1.0
    handoff: HandoffDecision | None = None
    used_llm: bool = False
    specialists: list[SpecialistResult] = field(default_factory=list)
    elapsed_s: float = 0.0
    usage: TurnUsage = field(default_factory=TurnUsage)
    steps: list[str] = field(default_factory=list)  # what the plan did, for logs and tests
    hits: dict[str, list[Hit]] = field(default_factory=dict)  # what retrieval found, per collection (the trace)


@dataclass
class CrewPlan:
    """Which agents a tenant's crew has on a channel, and the channel's formatting rules."""

    channel: str
    profile: dict[str, Any]
    specialists: list[str]
    use_llm: bool


@dataclass
class _CrewRun:
    """One turn through one tenant's crew: what every step reads, and the retrieval hits the specialists found."""

    plan: CrewPlan
    config: TenantConfig
    turn: Turn
    tasks: Mapping[str, TaskSpec]
    values: dict[str, Any]  # the turn's placeholders
    retriever: Retriever
    llm_api_key: str | None
    tools: Callable[[], list[Any]] | None  # the MCP agent's tools for this tenant
    usage: TurnUsage = field(default_factory=TurnUsage)
    hits: dict[str, list[Hit]] = field(default_factory=dict)
    _hits_lock: threading.Lock = field(default_factory=threading.Lock)

    def kickoff(self, agent: str, values: dict[str, Any], tools: list[Any] | None = None) -> str:
        """One agent's call (or calls, with tools), counted; BudgetExceeded before it when the turn's cap is reached."""
        self.usage.check(agent)
        ensure_crewai()  # the turn's first call imports crewai, or waits for the prewarm's import in flight
        started = time.perf_counter()
        llm = counting_copy(build_llm(self.config, self.llm_api_key))
        output = self.tasks[agent].kickoff(values, llm, tools or [])
        model = self.config.llm.model if self.config.llm else ""
        self.usage.record(agent, model or "", output, time.perf_counter() - started)
        return str(getattr(output, "raw", output) or "")

    def intention(self) -> SpecialistResult:
        started = time.perf_counter()
        return SpecialistResult("intention", self.kickoff("intention", self.values), True,
                                elapsed_s=time.perf_counter() - started)

    def specialist(self, name: str) -> SpecialistResult:
        started = time.perf_counter()
        values, tools = dict(self.values), []
        if name in RETRIEVAL_COLLECTIONS:
            found = self.retriever.search(name, retrieval_query(self.turn.text, self.turn.history))
            with self._hits_lock:
                self.hits[name] = found
            if not found:  # nothing to read: no need to ask a model
                return SpecialistResult(name, NOTHING, True, elapsed_s=time.perf_counter() - started)
            values["context"] = context_text(found)
        elif name == "odoo" and self.tools is not None:
            tools = self.tools()
            if not tools:
                return SpecialistResult(name, NOTHING, False, True, time.perf_counter() - started, "no tools")
        text = self.kickoff(name, values, tools)
        # A tool that needed a verified customer: the turn goes to a person whatever the agent wrote.
        refused = any(VERIFICATION_REQUIRED in (getattr(tool, "mcp_errors", None) or []) for tool in tools)
        return SpecialistResult(name, text, True, elapsed_s=time.perf_counter() - started,
                                error=VERIFICATION_REQUIRED if refused else "")

    def specialist_on(self, name: str, excerpts: str) -> SpecialistResult:
        """A retrieval specialist on excerpts already fetched (the plan searched them)."""
        started = time.perf_counter()
        text = self.kickoff(name, {**self.values, "context": excerpts})
        return SpecialistResult(name, text, True, elapsed_s=time.perf_counter() - started)

    def order_in_code(self, ref: str) -> str | None:
        """get_order_status called directly when the message names the order: no model needed to pick the tool."""
        if self.tools is None:
            return None
        tool = next((t for t in self.tools() if getattr(t, "name", "") == "get_order_status"), None)
        if tool is None:
            return None
        try:
            return f"get_order_status({ref}): " + str(tool._run(ref=ref))[:1500]
        except Exception:
            logger.warning("get_order_status failed in code; the Odoo agent takes over", exc_info=True)
            return None


HISTORY_TOKENS = 800  # the history a prompt carries, newest first, at ~4 characters a token


def history_text(history: list[tuple[str, str]], max_tokens: int = HISTORY_TOKENS) -> str:
    """The recent turns, oldest first, trimmed from the oldest to `max_tokens` (~4 characters a token)."""
    lines: list[str] = []
    budget = max_tokens * 4
    for role, content in reversed(history[-12:]):
        line = f"{'Customer' if role == 'customer' else 'Assistant'}: {content}"
        if len(line) > budget:
            break
        budget -= len(line)
        lines.append(line)
    return "\n".join(reversed(lines)) or "(first message)"


def turn_values(turn: Turn, config: TenantConfig) -> dict[str, Any]:
    """The placeholders a turn fills (tasks.yaml's {messages} {history} ...), with their defaults."""
    return {"messages": "\n".join(f"- {m}" for m in turn.messages), "history": history_text(turn.history),
            "context": "(nothing found)", "intent": "other", "language": config.company.language, "facts": "",
            "customer_name": turn.customer_name or "(unknown)"}


class CrewFactory:
    """Plans and runs crews. `retriever_factory(tenant_id)` searches one tenant's collections; `tools_factory(tenant_id,
    domain, customer)` -> crewai tools for the MCP agent, answering for that customer only (empty when Odoo is not
    reachable); `mcp_available(config)` says whether a tenant's crew gets the MCP agent at all."""

    def __init__(self, retriever_factory: Callable[[str], Retriever], *, specialist_timeout_s: float = 25.0,
                 parallel: bool = True,
                 tools_factory: Callable[[str, str, CustomerIdentity | None], list[Any]] | None = None,
                 mcp_available: Callable[[TenantConfig], bool] | None = None, economy: bool = True,
                 specialist_min_chars: int = 2500, prewarm: bool = False) -> None:
        self.economy = economy
        self.prewarm_crewai = prewarm
        # A collection's excerpts longer than this go through its specialist first (one call) instead of straight to
        # the response agent.
        self.specialist_min_chars = specialist_min_chars
        self.retriever_factory = retriever_factory
        self.specialist_timeout_s = specialist_timeout_s
        self.parallel = parallel
        self.tools_factory = tools_factory
        self.mcp_available = mcp_available or (lambda _config: False)

    def prewarm(self, config: TenantConfig) -> None:
        """A job for `config`'s tenant arrived: when its turns may call a model, crewai's import starts now in the
        background (with `prewarm`), so a cold worker pays it during the debounce wait and retrieval."""
        if self.prewarm_crewai and config.llm_enabled:
            prewarm_crewai()

    # ------------------------------------------------------------------ plan
    def plan(self, config: TenantConfig, channel: str, identified: bool = True) -> CrewPlan:
        """The channel's crew: its formatting rules and the specialists that serve it (channels.yaml's `specialists`
        and `identified_only`, with the tenant's overrides), of those only the agents the tenant enabled (a specialist
        per enabled collection; the MCP agent with an LLM, Odoo and the gateway). `identified`: the contact gave an
        e-mail or phone; an anonymous web-widget visitor gets no order lookups."""
        channel = channel if channel in CHANNELS else "api"
        profile = channel_profile(channel, {name: override.model_dump(exclude_none=True)
                                                   for name, override in config.channels.items()})
        serves = profile.get("specialists")
        allowed = set(serves) if isinstance(serves, list) else set(SPECIALISTS)
        if not identified:
            allowed -= set(profile.get("identified_only") or [])
        specialists = [c for c in RETRIEVAL_COLLECTIONS if c in config.enabled_collections and c in allowed]
        if "odoo" in allowed and config.llm_enabled and config.odoo is not None and self.mcp_available(config):
            specialists.append("odoo")
        return CrewPlan(channel, profile, specialists, config.llm_enabled)

    def run(self, plan: CrewPlan, config: TenantConfig, tenant_id: str, domain: str, turn: Turn,
            llm_api_key: str | None, usage: TurnUsage | None = None) -> CrewResult:
        """One turn. `usage` carries the turn's caps (the tenant's budget; calls 0: no model this turn) and collects
        every call."""
        started = time.perf_counter()
        retriever = self.retriever_factory(tenant_id)
        if usage is None:  # the tenant's per-turn caps (the pipeline adds the day's)
            usage = TurnUsage(config.llm.max_calls_per_turn, config.llm.max_tokens_per_turn) if config.llm \
                else TurnUsage()
        result: CrewResult
        if not plan.use_llm or usage.max_calls == 0:
            result = self._from_retrieval(plan, retriever, turn, config)
        else:
            run: _CrewRun | None = None
            try:
                tools = partial(self.tools_factory, tenant_id, domain, turn.customer) if self.tools_factory else None
                run = _CrewRun(plan, config, turn, crew_tasks(tenant_values(config, plan.channel, plan.profile)),
                               turn_values(turn, config), retriever, llm_api_key, tools, usage)
                if self.economy:
                    result = self._planned(run)
                else:
                    result = self._decide(run, self._specialists(run))
                    if result.handoff is None:
                        self._compose(run, result)
            except BudgetExceeded as exc:
                logger.info("LLM budget reached; answering from retrieval alone",
                            extra={"tenant_id": tenant_id, "detail": str(exc)})
                result = self._from_retrieval(plan, retriever, turn, config, run.hits if run else None)
                result.steps.append("budget")
            except Exception as exc:  # the LLM path failed as a whole: same answer as without an LLM
                logger.exception("crew failed; answering from retrieval alone", extra={"tenant_id": tenant_id})
                result = self._from_retrieval(plan, retriever, turn, config, run.hits if run else None)
                if result.answer is None:
                    result.handoff = handoff.failure(type(exc).__name__)
            if run is not None and not result.hits:
                result.hits = run.hits
        result.usage = usage
        result.elapsed_s = time.perf_counter() - started
        return result

    def _from_retrieval(self, plan: CrewPlan, retriever: Retriever, turn: Turn, config: TenantConfig,
                        found: dict[str, list[Hit]] | None = None) -> CrewResult:
        """The answer without a model (answer.py): small talk from keywords, else the extractive answer, else None
        and a "let me check" handoff."""
        language = config.company.language
        chat = _small_talk(config, turn)
        if chat is not None:
            return chat
        hits = found if found is not None else self._search_all(plan, retriever, turn)
        answer = extractive_answer(hits, retrieval_query(turn.text, turn.history))
        return CrewResult(answer, language=language, steps=["extractive"], hits=hits,
                          handoff=handoff.nothing_found() if answer is None else None)

    def _search_all(self, plan: CrewPlan, retriever: Retriever, turn: Turn) -> dict[str, list[Hit]]:
        query = retrieval_query(turn.text, turn.history)
        collections = [c for c in plan.specialists if c in RETRIEVAL_COLLECTIONS]
        if len(collections) < 2 or not self.parallel:
            return {c: retriever.search(c, query) for c in collections}
        with ThreadPoolExecutor(max_workers=len(collections), thread_name_prefix="search") as pool:
            return dict(zip(collections, pool.map(lambda c: retriever.search(c, query), collections), strict=True))

    # ------------------------------------------------------------------ the economical plan
    def _planned(self, run: _CrewRun) -> CrewResult:
        """Small talk → no call; retrieval and obvious ERP reads in code; specialists only for long excerpts; the
        response agent once (twice when its first reply states a number no fact holds)."""
        config, turn = run.config, run.turn
        language = config.company.language
        chat = _small_talk(config, turn)
        if chat is not None:
            return chat
        # No intention call: the response agent reads the language from the messages themselves.
        run.values["language"] = "the language of their messages"
        run.hits = self._search_all(run.plan, run.retriever, turn)
        steps = [f"search:{c}={len(h)}" for c, h in run.hits.items()]
        jobs: dict[str, Callable[[], SpecialistResult]] = {}
        facts: dict[str, str] = {}
        for name, found in run.hits.items():
            if not found:
                continue
            excerpts = context_text(found)
            if len(excerpts) > self.specialist_min_chars:
                jobs[name] = partial(run.specialist_on, name, excerpts)
            else:
                facts[name] = excerpts
        if "odoo" in run.plan.specialists and needs_live_data(turn.text):
            ref = order_reference(turn.text)
            looked_up = run.order_in_code(ref) if ref else None
            if looked_up is not None and VERIFICATION_REQUIRED in looked_up:
                # The gateway knows no phone or e-mail of this contact to match the order with: a person checks.
                return CrewResult(None, language=language, steps=[*steps, "odoo:verification_required"],
                                  handoff=handoff.verification_needed())
            if looked_up is not None:
                facts["odoo"] = looked_up
                steps.append("odoo:code")
            else:
                jobs["odoo"] = partial(run.specialist, "odoo")
                steps.append("odoo:agent")
        results = self._run_all(jobs) if jobs else {}
        if any(said.error == VERIFICATION_REQUIRED for said in results.values()):
            return CrewResult(None, language=language, used_llm=True, specialists=list(results.values()),
                              steps=[*steps, "odoo:verification_required"], handoff=handoff.verification_needed())
        for name, said in results.items():
            if said.ok and said.says_something:
                facts[name] = said.text.strip()
            elif run.hits.get(name):
                facts[name] = context_text(run.hits[name], 1500)
        steps += [f"specialist:{name}" for name in results]
        result = CrewResult(None, language=language, used_llm=bool(results), specialists=list(results.values()),
                            steps=steps)
        if not facts:  # nothing relevant, no live data: no model can answer from nothing
            result.handoff = handoff.nothing_found()
            result.steps.append("nothing_found")
            return result
        self._respond(run, result, facts)
        return result

    def _respond(self, run: _CrewRun, result: CrewResult, facts: dict[str, str]) -> None:
        """The response agent's reply, checked: a number the facts, the messages and the history do not hold is
        invented; the agent gets one retry, then the extractive answer stands in."""
        joined = "\n\n".join(f"## {name}\n{text}" for name, text in facts.items())
        values = {**run.values, "facts": joined}
        sources = (joined, run.turn.text, run.values["history"])
        answer = ""
        for attempt in range(2):
            answer = run.kickoff("response", values).strip()
            result.used_llm = True
            result.steps.append("response")
            invented = ungrounded_numbers(answer, *sources)
            if not invented or handoff.after_reply(answer, False) is not None:
                break
            logger.warning("reply states numbers no fact holds", extra={"numbers": sorted(invented),
                                                                           "attempt": attempt + 1})
            answer = ""
            values = {**values, "facts": joined + "\n\n(Your previous reply stated numbers that are not in these "
                                                 "facts: " + ", ".join(sorted(invented)) + ". State only these facts.)"}
        if not answer:
            result.steps.append("grounding_fallback")
            answer = extractive_answer(run.hits, retrieval_query(run.turn.text, run.turn.history)) or ""
            if not answer:
                result.handoff = handoff.nothing_found()
                return
        result.handoff = handoff.after_reply(answer, False)
        if result.handoff is None:
            result.answer = answer

    # ------------------------------------------------------------------ specialists
    def _specialists(self, run: _CrewRun) -> dict[str, SpecialistResult]:
        """The intention agent and the plan's specialists, each within the deadline; a specialist that failed stands
        in with its raw retrieval hits."""
        jobs: dict[str, Callable[[], SpecialistResult]] = {"intention": run.intention}
        jobs.update({name: partial(run.specialist, name) for name in run.plan.specialists})
        results = self._run_all(jobs)
        for name in run.plan.specialists:
            found = run.hits.get(name)
            if not results[name].ok and found:
                results[name].text, results[name].fallback = context_text(found, 1500), True
        return results

    def _run_all(self, jobs: dict[str, Callable[[], SpecialistResult]]) -> dict[str, SpecialistResult]:
        """Every job with its own deadline; in parallel unless configured otherwise (the bench compares both)."""
        if not self.parallel:
            return {name: _guarded(name, job) for name, job in jobs.items()}
        results: dict[str, SpecialistResult] = {}
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

    # ------------------------------------------------------------------ decide
    def _decide(self, run: _CrewRun, results: dict[str, SpecialistResult]) -> CrewResult:
        """What the intention agent said, and whether its handoff rules stop the turn here."""
        said = results["intention"]
        intention = Intention.parse(said.text if said.ok else "")
        verification = any(r.error == VERIFICATION_REQUIRED for r in results.values())
        return CrewResult(None, intent=intention.intent, language=intention.language or run.config.company.language,
                          wants_human=intention.wants_human, confidence=intention.confidence, used_llm=True,
                          specialists=list(results.values()),
                          handoff=handoff.verification_needed() if verification
                          else handoff.after_intention(intention, run.config.handoff))

    # ------------------------------------------------------------------ compose
    def _compose(self, run: _CrewRun, result: CrewResult) -> None:
        """The response agent writes the answer from what the specialists said; the answer's handoff rules apply."""
        specialists = [r for r in result.specialists if r.name in run.plan.specialists]
        facts = "\n\n".join(f"## {r.name}\n{r.text.strip()}" for r in specialists if r.says_something)
        values = {**run.values, "intent": result.intent, "language": result.language,
                  "facts": facts or "(no facts found)"}
        every_one_failed = bool(specialists) and not any(r.ok for r in specialists)
        try:
            answer = run.kickoff("response", values).strip()
        except Exception as exc:
            logger.warning("response agent failed; answering from retrieval alone",
                           extra={"tenant_id": run.retriever.tenant_id, "error": type(exc).__name__})
            answer = extractive_answer(run.hits, retrieval_query(run.turn.text, run.turn.history)) or ""
            result.used_llm = False
            if not answer:
                result.handoff = handoff.failure(f"response agent: {type(exc).__name__}")
                return
        result.handoff = handoff.after_reply(answer, every_one_failed)
        if result.handoff is None:
            result.answer = answer


def crews_from_settings(settings: Settings) -> CrewFactory:
    """The deployed crews: each tenant's retrieval, the Odoo tools through the gateway's MCP server, the deadlines
    and plan of the settings (the worker answers with them; the playground tries them)."""
    from chatwoot_ai.conversation.mcp_agent import McpToolsFactory

    conversation = settings.conversation
    mcp = McpToolsFactory(settings.odoo.gateway_url)  # signed customer identities, no admin key
    return CrewFactory(lambda tenant_id: Retriever(tenant_id), specialist_timeout_s=conversation.specialist_timeout_s,
                       parallel=conversation.parallel_specialists, tools_factory=mcp,
                       mcp_available=lambda _config: mcp.available(), economy=conversation.economy,
                       prewarm=conversation.prewarm_crewai)


def _guarded(name: str, job: Callable[[], SpecialistResult]) -> SpecialistResult:
    started = time.perf_counter()
    try:
        return job()
    except Exception as exc:
        logger.warning("specialist failed; using its fallback", extra={"specialist": name,
                                                                        "error": type(exc).__name__})
        return SpecialistResult(name, "", False, True, time.perf_counter() - started, type(exc).__name__)


def _small_talk(config: TenantConfig, turn: Turn) -> CrewResult | None:
    """A greeting, thanks, a goodbye or "are you a bot?": a short reply from keywords, no search, no model."""
    kind = small_talk(turn.messages)
    if kind is None:
        return None
    language = config.company.language
    return CrewResult(small_talk_reply(kind, language, config.assistant.name, config.company.name, turn.customer_name),
                      intent="small_talk", language=language, steps=[f"small_talk:{kind}"])
