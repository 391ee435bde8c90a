"""When a conversation goes to a human, and how: a message to the customer, a private note, `toggle_status` open."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatwoot_ai.conversation.prompts import normalize

# Said in the customer's words, these mean "a person, please" even when the tenant lists no keyword.
_DEFAULT_PHRASES = ("falar com um atendente", "falar com atendente", "falar com uma pessoa", "falar com humano",
                    "talk to a human", "speak to a human", "talk to a person", "real person", "hablar con un agente")


@dataclass(frozen=True)
class HandoffDecision:
    reason: str
    detail: str = ""


def requested_by_keywords(messages: list[str], keywords: list[str]) -> HandoffDecision | None:
    """A tenant keyword (as a whole word, accents and case ignored) or a common phrase in any new message."""
    text = normalize(" ".join(messages))
    for keyword in keywords:
        word = normalize(keyword).strip()
        if word and re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text):
            return HandoffDecision("customer_request", f"the customer wrote '{keyword}'")
    for phrase in _DEFAULT_PHRASES:
        if phrase in text:
            return HandoffDecision("customer_request", f"the customer asked: '{phrase}'")
    return None


def note_text(decision: HandoffDecision, messages: list[str]) -> str:
    """The private note agents read: why the bot stepped back, and what the customer said."""
    reasons = {
        "customer_request": "The customer asked for a human.",
        "low_confidence": "The assistant was not confident it could answer correctly.",
        "no_answer": "The assistant found no answer in the business's data.",
        "failure": "The assistant could not answer (technical failure).",
    }
    quoted = "\n".join(f"> {m[:300]}" for m in messages[-5:])
    detail = f" ({decision.detail})" if decision.detail else ""
    return f"🤖 Handoff: {reasons.get(decision.reason, decision.reason)}{detail}\nLast customer message(s):\n{quoted}"
