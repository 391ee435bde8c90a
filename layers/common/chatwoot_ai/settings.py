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
    # "module:function" returning a QdrantClient-like object, used instead of QDRANT_URL/QDRANT_PATH (the local
    # runner shares its one embedded Qdrant with every function process this way: infra/localcloud/qdrant_share.py).
    qdrant_client_factory: str = ""
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests and the local runner change the environment)."""
    get_settings.cache_clear()
