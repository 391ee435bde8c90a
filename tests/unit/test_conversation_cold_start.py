"""What a cold worker imports: turns answered without a model never import crewai; a turn with one model call imports
crewai without its RAG layer and embedding providers (deferred), and a crewai feature that needs them still gets them
when touched; crewai's import can start in the background when a job arrives without racing the first crew use.

The crew checks run in fresh interpreters: what is in sys.modules is the point, and this test process may hold crewai
already."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatwoot_ai.conversation.deferred_imports import DeferredInitFinder, deferred
from devtools.doubles import LlmStub

ROOT = Path(__file__).resolve().parents[2]
REPLY = "Temos sim o Protetor Solar FPS 50, por R$ 89,90."

# A tenant with an LLM (the stub) and the crew's retrieval over fixed excerpts, as the worker's pipeline runs it.
_WORLD = """
import json, sys
from support.webhook_fixtures import FakeSearch
from chatwoot_ai.conversation.crew import CrewFactory, Turn
from chatwoot_ai.conversation.retrieval import Retriever
from chatwoot_ai.models import TenantConfig

config = TenantConfig.model_validate({
    "company": {"name": "Sandra Cosméticos", "language": "pt-BR"},
    "enabled_collections": ["products"],
    "llm": {"model": "openai/stub-model", "base_url": sys.argv[1], "timeout_s": 10}})
search = FakeSearch({"loja": {"products": ["Protetor Solar FPS 50 R$ 89,90, 50 ml"]}})
factory = CrewFactory(lambda tenant: Retriever(tenant, search), prewarm=True)
plan = factory.plan(config, "whatsapp")

def turn(text, tenant="loja"):
    result = factory.run(plan, config, tenant, "default", Turn([text], [], "Maria"), "sk-stub")
    return {"answer": result.answer, "calls": result.usage.call_count, "steps": result.steps,
            "handoff": result.handoff.reason if result.handoff else None}
"""


def run_python(code: str, *args: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in (".", "layers/common", "tests"))}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(_WORLD) + textwrap.dedent(code), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture
def stub(llm: LlmStub) -> Iterator[LlmStub]:
    llm.reset()
    llm.on("customer service assistant", answer=REPLY)
    yield llm


def test_turns_without_a_model_call_never_import_crewai(stub: LlmStub) -> None:
    found = run_python("""
        greeting = turn("bom dia")
        nothing = turn("vocês vendem pneus de caminhão?", tenant="outra_loja")  # no excerpt: a handoff, no call
        print(json.dumps({"greeting": greeting, "nothing": nothing, "crewai": "crewai" in sys.modules}))
    """, stub.base_url)
    assert found["crewai"] is False
    greeting = found["greeting"]
    assert isinstance(greeting, dict) and greeting["calls"] == 0 and greeting["answer"].startswith("Olá")
    assert found["nothing"] == {"answer": None, "calls": 0, "steps": ["search:products=0", "nothing_found"],
                                "handoff": "no_answer"}
    assert stub.requests == []


@pytest.mark.slow  # imports crewai in a fresh interpreter
def test_a_model_turn_loads_crewai_without_its_rag_layer_which_still_works_when_touched(stub: LlmStub) -> None:
    found = run_python("""
        from chatwoot_ai.conversation.deferred_imports import deferred
        factory.prewarm(config)  # what the pipeline does when the job arrives
        answered = turn("quanto custa o protetor solar?")
        after_turn = {"rag": deferred("crewai.rag"),
                      "openai_provider": deferred("crewai.rag.embeddings.providers.openai"),
                      "provider_modules": [m for m in sys.modules
                                           if m.startswith("crewai.rag.embeddings.providers.openai.openai")]}
        # A crewai feature that needs them: an embedding provider, and crewai.rag's own names.
        from crewai.rag.embeddings.factory import build_embedder
        embedder = build_embedder({"provider": "openai", "config": {"api_key": "sk-x",
                                                                    "model_name": "text-embedding-3-small"}})
        from crewai.rag import set_rag_config
        import crewai.rag
        rag = sys.modules["crewai.rag"]
        touched = {"embedder": type(embedder).__name__, "set_rag_config": callable(set_rag_config),
                   "rag_module": type(rag).__name__, "same": crewai.rag is rag, "rag": deferred("crewai.rag")}
        print(json.dumps({"turn": answered, "after_turn": after_turn, "touched": touched}))
    """, stub.base_url)
    assert found["turn"] == {"answer": REPLY, "calls": 1, "steps": ["search:products=1", "response"],
                             "handoff": None}
    assert found["after_turn"] == {"rag": True, "openai_provider": True, "provider_modules": []}
    assert found["touched"] == {"embedder": "OpenAIEmbeddingFunction", "set_rag_config": True,
                                "rag_module": "_RagModule", "same": True, "rag": False}
    assert len(stub.requests) == 1


@pytest.mark.slow  # imports crewai in a fresh interpreter
def test_the_background_import_and_the_first_crew_use_do_not_race(stub: LlmStub) -> None:
    found = run_python("""
        import threading
        from chatwoot_ai.conversation.agents import prewarm_crewai
        factory.prewarm(config)
        started = prewarm_crewai()  # the same thread: once per process
        # The first crew use right away, in another thread too: both wait for the import in flight.
        answers = []
        workers = [threading.Thread(target=lambda: answers.append(turn("quanto custa o protetor solar?")))
                   for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        started.join(timeout=60)
        print(json.dumps({"answers": answers, "threads": [t.name for t in threading.enumerate()],
                          "alive": started.is_alive(), "openai_resources": "openai.resources" in sys.modules}))
    """, stub.base_url)
    assert [a["answer"] for a in found["answers"]] == [REPLY, REPLY]  # type: ignore[index]
    assert found["alive"] is False and "crewai-prewarm" not in found["threads"]  # type: ignore[operator]
    assert found["openai_resources"] is True  # what the first call imports was imported in the background
    assert len(stub.requests) == 2


def test_no_prewarm_for_a_tenant_without_an_llm_or_when_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from chatwoot_ai.conversation import crew
    from chatwoot_ai.conversation.crew import CrewFactory, crews_from_settings
    from chatwoot_ai.models import TenantConfig
    from chatwoot_ai.settings import get_settings, reset_settings

    started: list[str] = []
    monkeypatch.setattr(crew, "prewarm_crewai", lambda: started.append("crewai"))
    with_llm = TenantConfig.model_validate({"company": {"name": "Loja"}, "llm": {"model": "openai/m"}})
    without = TenantConfig.model_validate({"company": {"name": "Loja"}})
    CrewFactory(lambda t: None, prewarm=True).prewarm(without)
    CrewFactory(lambda t: None).prewarm(with_llm)  # tests and the bench build factories without it
    assert started == []
    crews_from_settings(get_settings()).prewarm(with_llm)  # the worker's: on by default
    assert started == ["crewai"]
    monkeypatch.setenv("CONVERSATION_PREWARM_CREWAI", "false")
    reset_settings()
    try:
        crews_from_settings(get_settings()).prewarm(with_llm)
    finally:
        monkeypatch.delenv("CONVERSATION_PREWARM_CREWAI")
        reset_settings()
    assert started == ["crewai"]


# ---------------------------------------------------------------- the finder itself, on a package of our own
@pytest.fixture
def package(tmp_path: Path) -> Iterator[str]:
    """pkg_deferred: an __init__ that records each run and re-exports a submodule's name; a second package whose
    __init__ fails."""
    root = tmp_path / "pkg_deferred"
    (root / "broken").mkdir(parents=True)
    (root / "__init__.py").write_text("import builtins\nbuiltins.__dict__.setdefault('pkg_runs', []).append(1)\n"
                                      "from pkg_deferred.sub import VALUE\nEXTRA = VALUE + 1\n")
    (root / "sub.py").write_text("VALUE = 41\n")
    (root / "broken" / "__init__.py").write_text("raise RuntimeError('init falhou')\n")
    (root / "broken" / "leaf.py").write_text("LEAF = 'folha'\n")
    finder = DeferredInitFinder(["pkg_deferred", "pkg_deferred.*"])
    sys.path.insert(0, str(tmp_path))
    sys.meta_path.insert(0, finder)
    try:
        yield "pkg_deferred"
    finally:
        sys.meta_path.remove(finder)
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.startswith("pkg_deferred")]:
            del sys.modules[name]
        import builtins

        builtins.__dict__.pop("pkg_runs", None)


def test_a_deferred_package_runs_its_init_once_at_the_first_name_it_defines(package: str) -> None:
    import builtins

    from pkg_deferred.sub import VALUE  # type: ignore[import-not-found]

    assert VALUE == 41 and deferred("pkg_deferred") and "pkg_runs" not in builtins.__dict__
    from pkg_deferred import EXTRA  # type: ignore[import-not-found]

    assert EXTRA == 42 and not deferred("pkg_deferred")
    import pkg_deferred

    assert pkg_deferred.sub.VALUE == 41 and builtins.__dict__["pkg_runs"] == [1]


def test_a_deferred_init_that_fails_fails_where_it_is_used(package: str) -> None:
    from pkg_deferred.broken.leaf import LEAF  # type: ignore[import-not-found]

    assert LEAF == "folha" and deferred("pkg_deferred.broken")
    import pkg_deferred.broken  # type: ignore[import-not-found]

    with pytest.raises(RuntimeError, match="init falhou"):
        _ = pkg_deferred.broken.anything
    assert "pkg_deferred.broken" not in sys.modules  # as a failed import leaves it: the next import tries again
