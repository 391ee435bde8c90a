"""What a turn costs and what it may cost: every LLM call counted (agent, model, tokens from the provider's `usage`,
latency), the tenant's budget per turn, the cheap in-code router that says whether the turn needs live ERP data, and
the grounding check of the response agent's reply (no number the facts do not contain).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

from chatwoot_ai.conversation.prompts import normalize

# An order reference as Odoo writes them (S00012) or "pedido 123".
ORDER_REF = re.compile(r"\b(S\d{3,})\b|\bpedido\s*(?:n[ºo°.]?\s*)?#?\s*(\d{3,})\b", re.IGNORECASE)
# Words that ask for live ERP data (stock, the customer's own orders and record).
_LIVE_WORDS = ("estoque", "disponivel", "disponiveis", "disponibilidade", "meu pedido", "minha compra",
               "minha encomenda", "rastreio", "rastreamento", "status do pedido", "meu cadastro", "meus dados",
               "in stock", "my order", "order status", "mi pedido")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


class BudgetExceeded(Exception):
    """The tenant's cap on LLM calls or tokens is reached: the turn ends with the extractive answer or a handoff."""


@dataclass(frozen=True)
class LlmCall:
    agent: str
    model: str
    calls: int  # requests the agent made (an agent with tools may make several)
    prompt_tokens: int
    completion_tokens: int
    latency_s: float

    def as_dict(self) -> dict[str, Any]:
        return {"agent": self.agent, "model": self.model, "calls": self.calls, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "latency_ms": round(self.latency_s * 1000)}


@dataclass
class TurnUsage:
    """Every LLM call of one turn, and the caps it must stay under (None: no cap)."""

    max_calls: int | None = None
    max_tokens: int | None = None
    calls: list[LlmCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def call_count(self) -> int:
        return sum(c.calls for c in self.calls)

    @property
    def tokens(self) -> int:
        return sum(c.prompt_tokens + c.completion_tokens for c in self.calls)

    def check(self, agent: str) -> None:
        """Before a call: raises when the next one would go over the turn's caps."""
        with self._lock:
            if self.max_calls is not None and self.call_count + 1 > self.max_calls:
                raise BudgetExceeded(f"{agent}: {self.call_count} of {self.max_calls} calls used")
            if self.max_tokens is not None and self.tokens >= self.max_tokens:
                raise BudgetExceeded(f"{agent}: {self.tokens} of {self.max_tokens} tokens used")

    def record(self, agent: str, model: str, output: Any, latency_s: float) -> None:
        usage = getattr(output, "token_usage", None)
        calls = int(getattr(usage, "successful_requests", 0) or 0) or 1
        call = LlmCall(agent, model, calls, int(getattr(usage, "prompt_tokens", 0) or 0),
                       int(getattr(usage, "completion_tokens", 0) or 0), latency_s)
        with self._lock:
            self.calls.append(call)

    def summary(self) -> dict[str, Any]:
        return {"llm_calls": self.call_count, "tokens": self.tokens,
                "prompt_tokens": sum(c.prompt_tokens for c in self.calls),
                "completion_tokens": sum(c.completion_tokens for c in self.calls),
                "calls": [c.as_dict() for c in self.calls]}


def order_reference(text: str) -> str | None:
    found = ORDER_REF.search(text)
    if not found:
        return None
    return (found.group(1) or found.group(2)).upper()


def needs_live_data(text: str) -> bool:
    """An order reference or a word asking for stock, an order or the customer's record."""
    plain = normalize(text)
    return order_reference(text) is not None or any(word in plain for word in _LIVE_WORDS)


def _numbers(text: str) -> set[str]:
    """Numbers as digits only ("R$ 1.299,90" and "1299,90" meet), single digits left out (lists, "2 dias" is kept
    by the facts anyway)."""
    return {re.sub(r"\D", "", n).lstrip("0") or "0" for n in _NUMBER.findall(text) if len(re.sub(r"\D", "", n)) > 1}


def ungrounded_numbers(reply: str, *sources: str) -> set[str]:
    """Numbers of the reply that none of the sources (facts, the customer's messages, the history) contains."""
    known: set[str] = set()
    for source in sources:
        known |= _numbers(source)
    return _numbers(reply) - known


def emit_metrics(usage: TurnUsage, tenant_id: str) -> None:
    """Powertools metrics (EMF in the logs) for the turn: calls, tokens, LLM latency."""
    try:
        from aws_lambda_powertools.metrics import MetricUnit

        from chatwoot_ai.observability import metrics

        m = metrics()
        m.add_metric(name="LlmCalls", unit=MetricUnit.Count, value=usage.call_count)
        m.add_metric(name="LlmPromptTokens", unit=MetricUnit.Count,
                     value=sum(c.prompt_tokens for c in usage.calls))
        m.add_metric(name="LlmCompletionTokens", unit=MetricUnit.Count,
                     value=sum(c.completion_tokens for c in usage.calls))
        m.add_metric(name="LlmLatency", unit=MetricUnit.Milliseconds,
                     value=round(sum(c.latency_s for c in usage.calls) * 1000))
        m.add_metadata(key="tenant_id", value=tenant_id)
        m.flush_metrics()
    except Exception:  # metrics must never cost a reply
        from chatwoot_ai.observability import logger

        logger.warning("could not emit LLM metrics", exc_info=True)
