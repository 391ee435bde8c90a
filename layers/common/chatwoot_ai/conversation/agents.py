"""The crew's agents and tasks as data (agents.yaml, tasks.yaml: crewAI's `config/` layout, each task naming its
`agent`), filled with a tenant's voice and a channel's rules once per tenant settings, and run with crewai.

What is built once: the filled texts (`crew_tasks`, per distinct tenant values), the LLM client (`build_llm`, per
model and key), crewai's setup (`ensure_crewai`). What is built per call: crewai's Agent, Task and Crew objects, because
an Agent keeps its executor and tool state between kickoffs, and two turns at once (two conversations of one batch)
must not share one. crewai is imported on first use, never at module import: by the first model call, or earlier in
the background (`prewarm_crewai`) when the worker knows a turn may need it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from chatwoot_ai.conversation.prompts import EMOJI_RULES, STYLES, fill, format_rules, load_yaml, prefill
from chatwoot_ai.memo import once
from chatwoot_ai.models import TenantConfig


@once
def ensure_crewai() -> None:
    """Imports crewai once, with its process-wide file locks swapped for in-process ones.

    crewai guards its kickoff output store with a portalocker file lock that polls every ~0.25 s, which serialises
    concurrent crews in one process (measured: 4 parallel one-call crews took 1.25 s instead of 0.4 s). A Lambda
    instance is one process, so named threading locks give the same safety without the polling.
    """
    import logging
    import os

    os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("OTEL_SDK_DISABLED", "true")
    os.environ.setdefault("CREWAI_TRACING_ENABLED", "false")
    from chatwoot_ai.conversation.deferred_imports import defer_package_inits

    defer_package_inits()  # crewai's RAG layer and embedding providers: imported only if something uses them
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


@once
def prewarm_crewai() -> threading.Thread:
    """Starts `ensure_crewai` in a background thread, once per process, and returns that thread.

    The first crew use calls `ensure_crewai` itself and waits for the import in flight (`once` builds under a lock),
    so nothing races; an import that failed in the background is tried again there and fails the turn as before.
    """
    thread = threading.Thread(target=_import_in_background, name="crewai-prewarm", daemon=True)
    thread.start()
    return thread


# What crewai's first kickoff imports on top of `import crewai` (crewai 1.15 with its native OpenAI provider, which
# OpenAI-compatible models use): ~490 modules, ~0.2 s of CPU measured, most of them the openai SDK's resources.
FIRST_CALL_MODULES = ("openai.resources", "crewai.hooks.contexts", "crewai.llms.cache", "crewai.skills.tool")


def _import_in_background() -> None:
    import importlib

    try:
        ensure_crewai()
        for name in FIRST_CALL_MODULES:
            importlib.import_module(name)
    except Exception:
        from chatwoot_ai.observability import logger

        logger.warning("crewai could not be imported in the background; the first crew use tries again",
                       exc_info=True)


def build_llm(config: TenantConfig, api_key: str | None) -> Any:
    """crewai's LLM for the tenant: any provider by model string; an OpenAI-compatible `base_url` works too.

    Instances are shared by the agents of a turn and by later turns of the same settings: creating one builds two
    HTTP clients with fresh TLS contexts (~95 ms of CPU measured, under the GIL, so it also serialised the parallel
    specialists), and a shared one reuses its connections. crewai documents an LLM as safe to call concurrently
    (per-call stop words go through a ContextVar).
    """
    assert config.llm is not None and config.llm.model
    if not api_key and config.llm.base_url:
        api_key = "not-needed"  # local OpenAI-compatible servers accept any key; the SDK wants one
    return _llm(config.llm.model, config.llm.base_url, config.llm.temperature, config.llm.timeout_s, api_key or None)


def counting_copy(llm: Any) -> Any:
    """The shared LLM with its own token counter: crewai counts usage per LLM instance, so a kickoff on the shared
    one reports every earlier call too. A shallow copy keeps the HTTP clients (no new TLS context)."""
    copy = llm.model_copy()
    usage = getattr(llm, "_token_usage", None)
    if isinstance(usage, dict):
        copy._token_usage = dict.fromkeys(usage, 0)
    return copy


@lru_cache(maxsize=32)
def _llm(model: str, base_url: str | None, temperature: float, timeout_s: float, api_key: str | None) -> Any:
    from crewai import LLM

    kwargs: dict[str, Any] = {"model": model, "temperature": temperature, "timeout": timeout_s, "max_retries": 1}
    if base_url:
        kwargs["base_url"] = base_url
    if api_key:
        kwargs["api_key"] = api_key
    return LLM(**kwargs)


# ---------------------------------------------------------------- the texts, once per tenant settings
def tenant_values(config: TenantConfig, channel: str, profile: dict[str, Any]) -> dict[str, str]:
    """The placeholders a tenant and a channel fill (agents.yaml's, and tasks.yaml's that do not change per turn)."""
    assistant = config.assistant
    emoji = EMOJI_RULES.get(assistant.emoji_usage, "") if profile.get("emoji", True) else EMOJI_RULES["none"]
    return {
        "company_name": config.company.name,
        "company_language": config.company.language,
        "assistant_name": assistant.name,
        "style": STYLES.get(assistant.style, assistant.style),
        "emoji_rule": emoji,
        "handoff_keywords": ", ".join(config.handoff.keywords) or "(none)",
        "channel_label": str(profile.get("label", channel)),
        "format_rules": format_rules(profile, assistant.emoji_usage),
    }


@dataclass(frozen=True)
class AgentSpec:
    name: str
    role: str
    goal: str
    backstory: str


@dataclass(frozen=True)
class TaskSpec:
    """One task and its agent, with the tenant's values in; the turn's ({messages}, {context}...) go in per call."""

    name: str
    agent: AgentSpec
    description: str
    expected_output: str

    def kickoff(self, turn_values: dict[str, Any], llm: Any, tools: list[Any]) -> Any:
        """Runs this task alone, in its own one-task crew: a slow specialist cannot hold up another's. Returns crewai's
        CrewOutput (`.raw` the text, `.token_usage` what the provider reported)."""
        from crewai import Crew, Process

        agent, task = self.build(turn_values, llm, tools)
        return Crew(agents=[agent], tasks=[task], process=Process.sequential, verbose=False).kickoff()

    def build(self, turn_values: dict[str, Any], llm: Any, tools: list[Any]) -> tuple[Any, Any]:
        from crewai import Agent, Task

        agent = Agent(role=self.agent.role, goal=self.agent.goal, backstory=self.agent.backstory, llm=llm,
                      tools=tools, allow_delegation=False, max_iter=4 if tools else 1, max_retry_limit=0,
                      verbose=False)
        task = Task(description=fill(self.description, turn_values), agent=agent,
                    expected_output=fill(self.expected_output, turn_values).strip())
        return agent, task


def crew_tasks(values: dict[str, str]) -> Mapping[str, TaskSpec]:
    """agent name -> its task, filled with `values` (tenant_values); built once per distinct values."""
    return _crew_tasks(tuple(sorted(values.items())))


@lru_cache(maxsize=256)
def _crew_tasks(items: tuple[tuple[str, str], ...]) -> Mapping[str, TaskSpec]:
    values = dict(items)
    agents = {name: AgentSpec(name, fill(spec["role"], values).strip(), fill(spec["goal"], values).strip(),
                              fill(spec["backstory"], values).strip())
              for name, spec in load_yaml("agents.yaml").items()}
    tasks: dict[str, TaskSpec] = {}
    for task_name, spec in load_yaml("tasks.yaml").items():
        agent = agents.get(spec.get("agent", ""))
        if agent is None or agent.name in tasks:
            raise ValueError(f"tasks.yaml: {task_name} must name one agent of agents.yaml that has no other task")
        tasks[agent.name] = TaskSpec(task_name, agent, prefill(spec["description"], values),
                                     prefill(spec["expected_output"], values))
    return MappingProxyType(tasks)
