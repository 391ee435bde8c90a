"""ConversationWorkerFunction, SQS FIFO `conversations` → one answer (or handoff) per customer turn
(chatwoot_ai.conversation.pipeline); the batch's conversations run in parallel (chatwoot_ai.fifo_batch).

crewai is imported on the first turn that needs an LLM, not here.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chatwoot_ai import aws
from chatwoot_ai.chatwoot import ChatwootClient, ReplyLedger
from chatwoot_ai.config import get_config_cache
from chatwoot_ai.conversation.attachments import AttachmentReader
from chatwoot_ai.conversation.crew import crews_from_settings
from chatwoot_ai.conversation.history import HistoryStore
from chatwoot_ai.conversation.pipeline import ConversationPipeline, PipelineSettings
from chatwoot_ai.conversation.queue_job import ConversationJob
from chatwoot_ai.fifo_batch import process_fifo_batch
from chatwoot_ai.memo import per_settings
from chatwoot_ai.middleware import config_changes
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import Settings


@per_settings
def get_pipeline(settings: Settings) -> ConversationPipeline:
    conversation, chatwoot = settings.conversation, settings.chatwoot
    table = aws.table(settings.resources.history_table)
    return ConversationPipeline(
        configs=get_config_cache(), history=HistoryStore(table, conversation.history_ttl_days),
        ledger=ReplyLedger(table, conversation.history_ttl_days), crews=crews_from_settings(settings),
        chatwoot_factory=lambda base_url, token: ChatwootClient(
            base_url, token, timeout_s=chatwoot.timeout_s, max_attempts=chatwoot.max_attempts,
            backoff_s=chatwoot.backoff_s),
        settings=PipelineSettings(conversation.debounce_s, conversation.debounce_max_s, conversation.history_turns),
        attachments=AttachmentReader(conversation.attachment_max_bytes, conversation.attachment_timeout_s),
    )


def record_handler(record: SQSRecord) -> str:
    job = ConversationJob.model_validate_json(record.body)
    outcome = get_pipeline().process(job)
    logger.info("conversation job done", extra={"tenant_id": job.tenant_id, "conversation_id": job.conversation_id,
                                                "message_id": job.message_id, "outcome": outcome})
    return outcome


@logger.inject_lambda_context(clear_state=True)
@config_changes
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_fifo_batch(event, record_handler, context)
