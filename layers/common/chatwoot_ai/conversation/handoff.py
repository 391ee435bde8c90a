"""Every rule that sends a conversation to a human, and how it is told: a message to the customer (the tenant's
`handoff.message`), a private note saying why, and `toggle_status` open.

The rules, in the order a turn meets them:
1. the customer's words: a tenant keyword or a common phrase (`requested_by_keywords`, before any model runs);
2. the intention agent: it says the customer wants a person, or its confidence is under `handoff.min_confidence`
   (`after_intention`);
3. the response agent: it answers HANDOFF or nothing (`after_reply`: "failure" when every specialist failed too);
4. no answer at all: nothing found without an LLM (`nothing_found`), the crew or the response agent failing with
   nothing to fall back on (`failure`), or no answer for any other reason (`no_answer`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatwoot_ai.conversation.intention import Intention
from chatwoot_ai.conversation.prompts import normalize
from chatwoot_ai.models import Handoff

# Said in the customer's words, these mean "a person, please" even when the tenant lists no keyword.
_DEFAULT_PHRASES = ("falar com um atendente", "falar com atendente", "falar com uma pessoa", "falar com humano",
                    "falar com alguem", "me passa pra alguem", "me passa para alguem", "pessoa de verdade",
                    "atendimento humano",
                    "talk to a human", "speak to a human", "talk to a person", "real person", "hablar con un agente")
# What the response agent answers when the facts do not let it help (tasks.yaml tells it so).
HANDOFF_TOKEN = "HANDOFF"

REASONS = {
    "customer_request": "The customer asked for a human.",
    "low_confidence": "The assistant was not confident it could answer correctly.",
    "no_answer": "The assistant found no answer in the business's data.",
    "failure": "The assistant could not answer (technical failure).",
    "attachment": "The customer sent something the assistant cannot read (a file, video, sticker...).",
    "verification": "The customer asked about an order or their record, and their identity is not verified.",
}
# The private note in the tenant's language (its agents read it).
NOTES = {
    "pt": ({"customer_request": "O cliente pediu um atendente.",
            "low_confidence": "O assistente não tinha confiança para responder corretamente.",
            "no_answer": "O assistente não encontrou a resposta nos dados da loja.",
            "failure": "O assistente não conseguiu responder (falha técnica).",
            "verification": "O cliente perguntou por um pedido ou cadastro e a identidade dele não está verificada."},
           "Transferido", "Última(s) mensagem(ns) do cliente"),
    "es": ({"customer_request": "El cliente pidió un agente.",
            "low_confidence": "El asistente no estaba seguro de poder responder correctamente.",
            "no_answer": "El asistente no encontró la respuesta en los datos del negocio.",
            "failure": "El asistente no pudo responder (falla técnica).",
            "verification": "El cliente preguntó por un pedido o su registro y su identidad no está verificada."},
           "Transferido", "Último(s) mensaje(s) del cliente"),
    "en": (REASONS, "Handoff", "Last customer message(s)"),
}


@dataclass(frozen=True)
class HandoffDecision:
    reason: str  # a key of REASONS
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


def after_intention(intention: Intention, rules: Handoff) -> HandoffDecision | None:
    if intention.wants_human:
        return HandoffDecision("customer_request", "the intention agent says so")
    if intention.confidence < rules.min_confidence:
        return HandoffDecision("low_confidence",
                               f"confidence {intention.confidence:.2f} < {rules.min_confidence:.2f}")
    return None


def after_reply(answer: str, every_specialist_failed: bool) -> HandoffDecision | None:
    if not answer or answer.strip().strip(".").upper() == HANDOFF_TOKEN:
        return HandoffDecision("failure" if every_specialist_failed else "no_answer",
                               "the response agent could not answer from the facts found")
    return None


def nothing_found() -> HandoffDecision:
    return HandoffDecision("no_answer", "no LLM configured and nothing found in the tenant's collections")


def failure(detail: str) -> HandoffDecision:
    return HandoffDecision("failure", detail)


def verification_needed() -> HandoffDecision:
    return HandoffDecision("verification", "the Odoo gateway has no verified phone or e-mail for this contact")


def no_answer() -> HandoffDecision:
    return HandoffDecision("no_answer")


def note_text(decision: HandoffDecision, messages: list[str], language: str = "en") -> str:
    """The private note agents read, in the tenant's language: why the bot stepped back, and what the customer
    said (the technical detail stays in English, as in the logs)."""
    reasons, title, last = NOTES.get((language or "en").split("-")[0].lower(), NOTES["en"])
    quoted = "\n".join(f"> {m[:300]}" for m in messages[-5:])
    detail = f" ({decision.detail})" if decision.detail else ""
    return f"🤖 {title}: {reasons.get(decision.reason, decision.reason)}{detail}\n{last}:\n{quoted}"
