"""What the customer receives, and what it costs: the scripted pt-BR conversation set
(tests/support/conversation_set.py: 42 conversations on the demo store, the real gated retrieval over the bundled
encoders).

Answers without an LLM, old vs new in one run:
  old = the seed's answer: ungated search of the new message alone, an intro and the two best raw chunks as bullets,
        cut at the channel's max_length; no small talk, nothing internal held back;
  new = answer.py: small talk from keywords, the extractive answer of the best public hit, "vou verificar com a
        equipe" and a handoff when nothing clears the gate, replies split at sentence ends.
The crew with an LLM stub that sleeps 300 ms per call and reports usage, old plan vs new in one run:
  old = every agent a call (intention, a specialist per collection with hits, the response; `economy=False`);
  new = the plan (crew.py `_planned`).
Time to reply is the crew's (retrieval + model calls); the webhook, the queue and the debounce are left out.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.figures import Figure, percentile

AREA = "answers"


def _old_answer(hits: list[Any], max_length: int) -> str | None:
    """The seed's answer_from_hits: intro, the two best chunks as bullets (400 characters each), outro; truncated."""
    if not hits:
        return None
    lines = ["Encontrei estas informações que podem ajudar:"]
    seen: list[str] = []
    for hit in sorted(hits, key=lambda h: h.score, reverse=True):
        text = hit.text.strip()
        if text and text not in seen:
            seen.append(text)
            lines.append(f"• {text[:400]}")
        if len(seen) >= 2:
            break
    lines.append("Se precisar de algo mais, é só falar!")
    out = "\n".join(lines)
    if len(out) <= max_length:
        return out
    cut = out[:max_length]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "), cut.rfind("\n"))
    return cut[: end + 1].rstrip() if end >= max_length // 3 else cut[: max_length - 1].rstrip() + "…"


def _old_set(search_ungated: Any, config: Any) -> list[Any]:
    from support.conversation_set import CONVERSATIONS, Outcome, check

    from chatwoot_ai.conversation.prompts import channel_profile

    outcomes = []
    for conv in CONVERSATIONS:
        limit = int(str(channel_profile(conv.channel)["max_length"]))
        message = conv.turns[-1]  # the seed searched the new message alone
        hits = [h for c in ("business_rules", "support_documents", "products") for h in search_ungated(c, message)]
        answer = _old_answer(hits, limit)
        outcome = Outcome(conv, [answer] if answer else [config.handoff.message], None if answer else "no_answer")
        outcome.problems = check(outcome, limit)
        outcomes.append(outcome)
    return outcomes


def _rates(outcomes: list[Any]) -> dict[str, float]:
    with_facts = [o for o in outcomes if o.conversation.expect and o.conversation.outcome == "answer"]
    return {"answer": sum(o.answered for o in outcomes) / len(outcomes),
            "handoff": sum(not o.answered for o in outcomes) / len(outcomes),
            "fact": sum(o.fact_present for o in with_facts) / len(with_facts),
            "clean": sum(not o.problems for o in outcomes) / len(outcomes),
            "internal": sum(any("contains" in p for p in o.problems) for o in outcomes
                            if o.conversation.kind == "internal_bait")}


def _compare(name: str, unit: str, new: float, old: float, *, target: str | None = None,
             met: bool | None = None, notes: str = "") -> Figure:
    return Figure(name, round(new, 4), unit, AREA, "old", round(old, 4), target, met, notes)


def run(ctx: Any = None) -> list[Figure]:
    from support.conversation_set import demo_search, demo_tenant, run_set, script_llm

    from devtools.doubles import LlmStub

    figures: list[Figure] = []
    with demo_search() as search:
        config = demo_tenant()
        old, new = _rates(_old_set(search.ungated, config)), _rates(run_set(search, config))
        n = "42 scripted pt-BR conversations, no LLM"
        figures += [
            _compare("answer rate (no LLM)", "share", new["answer"], old["answer"], notes=n),
            _compare("handoff rate (no LLM)", "share", new["handoff"], old["handoff"]),
            _compare("fact present (no LLM)", "share", new["fact"], old["fact"], target=">= old",
                     met=new["fact"] >= old["fact"]),
            _compare("conversations with nothing wrong (no LLM)", "share", new["clean"], old["clean"],
                     notes="fact present, no unrelated or internal text, no cut sentence, right answer/handoff"),
            _compare("internal-rule bait answered with internal text (no LLM)", "conversations", new["internal"],
                     old["internal"], target="0", met=new["internal"] == 0),
        ]

        with LlmStub() as stub:
            stub.latency_s = 0.3
            script_llm(stub)
            llm_config = demo_tenant(stub.base_url, max_calls_per_turn=None, max_tokens_per_turn=None)
            plans = {"old": run_set(search, llm_config, economy=False, llm_stub=stub),
                     "new": run_set(search, llm_config, economy=True, llm_stub=stub)}
    calls = {k: [float(o.llm_calls) for o in v] for k, v in plans.items()}
    tokens = {k: [float(o.tokens) for o in v] for k, v in plans.items()}
    seconds = {k: [o.seconds for o in v] for k, v in plans.items()}
    greeting = {k: max(o.llm_calls for o in v if o.conversation.kind == "small_talk") for k, v in plans.items()}
    facts = {k: _rates(v)["fact"] for k, v in plans.items()}
    n = "LLM stub sleeping 300 ms per call, reporting usage; the last turn of each conversation"
    figures += [
        _compare("LLM calls per turn, median", "calls", statistics.median(calls["new"]),
                 statistics.median(calls["old"]), target="<= 2", met=statistics.median(calls["new"]) <= 2, notes=n),
        _compare("LLM calls per turn, p95", "calls", percentile(calls["new"], 95), percentile(calls["old"], 95),
                 target="<= 3", met=percentile(calls["new"], 95) <= 3),
        _compare("LLM calls for a greeting", "calls", greeting["new"], greeting["old"], target="<= 1",
                 met=greeting["new"] <= 1),
        _compare("tokens per turn, median", "tokens", statistics.median(tokens["new"]),
                 statistics.median(tokens["old"])),
        _compare("tokens per turn, mean", "tokens", statistics.mean(tokens["new"]), statistics.mean(tokens["old"])),
        _compare("time to reply, median", "s", statistics.median(seconds["new"]), statistics.median(seconds["old"]),
                 target="<= 2 x 0.3 + 0.5 s", met=statistics.median(seconds["new"]) <= 1.1,
                 notes="the crew's time (retrieval + calls); webhook, queue and debounce excluded"),
        _compare("time to reply, p95", "s", percentile(seconds["new"], 95), percentile(seconds["old"], 95),
                 target="<= 2 x 0.3 + 0.5 s", met=percentile(seconds["new"], 95) <= 1.1),
        _compare("fact present (LLM stub)", "share", facts["new"], facts["old"], target=">= old",
                 met=facts["new"] >= facts["old"]),
    ]
    return figures
