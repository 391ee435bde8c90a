"""Shared code of every function: settings, models, AWS clients, config cache, Chatwoot, embeddings, Qdrant."""
