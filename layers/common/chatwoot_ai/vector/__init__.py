"""Vectors: fastembed embeddings, pt-BR keyword vectors, chunking, Qdrant, vectorize jobs and search.

`search(tenant_id, collection, query, limit)` is what the conversation worker calls in-process. Heavy libraries
(fastembed, onnxruntime, qdrant_client) load on first use, not on import.
"""

from chatwoot_ai.vector.models import SearchHit
from chatwoot_ai.vector.search import search

__all__ = ["SearchHit", "search"]
