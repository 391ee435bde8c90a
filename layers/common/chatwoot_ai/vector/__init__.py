"""Vectors: embedding model sets, pt-BR keyword vectors, codes, chunking, Qdrant, vectorize and re-index jobs, search.

`retrieve(tenant_id, collection, query, limit)` (gated: `answerable`, hits above the collection's threshold) is what
the conversation worker calls in-process; `search(...)` returns every hit with its relevance. Heavy libraries (the
models, fastembed, onnxruntime, qdrant_client) load on first use, not on import.
"""

from chatwoot_ai.vector.models import SearchHit
from chatwoot_ai.vector.search import Retrieval, retrieve, search

__all__ = ["Retrieval", "SearchHit", "retrieve", "search"]
