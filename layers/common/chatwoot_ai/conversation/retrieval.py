"""Retrieval for the crew, always for the tenant resolved from the mapping, and the answer from retrieval alone
(no LLM configured, or the LLM failed).

Search is gated (chatwoot_ai.vector.retrieve): a collection with nothing relevant to the question gives no hits, so
its specialist is skipped, and when no collection has anything, the answer from retrieval alone is None and the
conversation is handed off instead of guessed. Hit scores are the calibrated relevance (0-1), comparable across
collections. A follow-up that cannot stand alone ("e quanto custa?") is searched with the customer's previous
message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chatwoot_ai.observability import logger

SearchFn = Callable[..., list[Any]]
RETRIEVAL_COLLECTIONS = ("business_rules", "support_documents", "products")


@dataclass(frozen=True)
class Hit:
    collection: str
    id: str
    score: float
    text: str
    metadata: dict[str, Any]


def _default_search(tenant_id: str, collection: str, query: str, limit: int = 5) -> list[Any]:
    """Only hits that reach the collection's relevance threshold (none when nothing there is relevant)."""
    from chatwoot_ai.vector.search import retrieve

    return retrieve(tenant_id, collection, query, limit, gate=True).hits


def retrieval_query(text: str, history: list[tuple[str, str]]) -> str:
    """What to search for the customer's new message(s): with their previous message when they need it."""
    from chatwoot_ai.settings import get_settings
    from chatwoot_ai.vector.followup import contextual_query

    if not get_settings().search_followup_context:
        return text
    previous = next((content for role, content in reversed(history) if role == "customer"), None)
    return contextual_query(text, previous)


class Retriever:
    """Searches one tenant's collections. The tenant is fixed at construction: nothing the LLM says can change it."""

    def __init__(self, tenant_id: str, search: SearchFn | None = None, limit: int = 4) -> None:
        self.tenant_id = tenant_id
        self._search = search or _default_search
        self.limit = limit

    def search(self, collection: str, query: str) -> list[Hit]:
        try:
            found = self._search(self.tenant_id, collection, query, self.limit)
        except Exception:
            logger.exception("retrieval failed", extra={"tenant_id": self.tenant_id, "collection": collection})
            return []
        # The calibrated relevance when the search gives one: comparable across collections, unlike fused scores.
        return [Hit(collection, str(h.id), float(getattr(h, "relevance", h.score)), str(h.text),
                    dict(h.metadata or {})) for h in found]


def context_text(hits: list[Hit], max_chars: int = 3000) -> str:
    """Hits as numbered excerpts for a specialist's prompt."""
    if not hits:
        return "(nothing found)"
    parts, used = [], 0
    for index, hit in enumerate(hits, 1):
        text = hit.text.strip().replace("\n\n", "\n")
        if is_internal(hit):
            text = "(INTERNAL, guidance only: never quote or disclose) " + text
        if used + len(text) > max_chars:
            text = text[: max(0, max_chars - used)]
        parts.append(f"[{index}] {text}")
        used += len(text)
        if used >= max_chars:
            break
    return "\n".join(parts)


def is_internal(hit: Hit) -> bool:
    """`visibility: internal` in a record's metadata: staff knowledge that may guide a model, never a reply."""
    return str(hit.metadata.get("visibility", "public")).lower() == "internal"
