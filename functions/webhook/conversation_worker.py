"""SQS FIFO `conversations` → one answer (or handoff) per customer turn. Partial batch failures: a failed message
(and the ones after it in its conversation) return to the queue; the redrive policy parks them in the DLQ.

Conversations (message groups) of one batch run in parallel; the messages of one conversation run in order.
crewai is imported on the first turn that needs an LLM, not here.
"""

from __future__ import annotations

from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chatwoot_ai import aws
from chatwoot_ai.chatwoot import ChatwootClient, ReplyLedger
from chatwoot_ai.config import get_config_cache, is_config_changed_event
from chatwoot_ai.conversation.crew import CrewFactory
from chatwoot_ai.conversation.history import HistoryStore
from chatwoot_ai.conversation.hub import Hub
from chatwoot_ai.conversation.jobs import ConversationJob
from chatwoot_ai.conversation.mcp_agent import McpToolsFactory
from chatwoot_ai.conversation.pipeline import ConversationPipeline, PipelineSettings
from chatwoot_ai.conversation.retrieval import Retriever
from chatwoot_ai.memo import per_settings
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import Settings


@per_settings
def get_pipeline(settings: Settings) -> ConversationPipeline:
    """One pipeline per settings object (rebuilt when the runner or a test changes the environment)."""
    table = aws.table(settings.history_table)
    mcp = McpToolsFactory(settings.odoo_gateway_url, settings.admin_api_key.get_secret_value())
    factory = CrewFactory(
        lambda tenant_id: Retriever(tenant_id),
        specialist_timeout_s=settings.specialist_timeout_s,
        parallel=settings.crew_parallel_specialists,
        tools_factory=mcp,
        mcp_available=lambda _config: mcp.available(),
    )

    def chatwoot(base_url: str, token: str) -> ChatwootClient:
        return ChatwootClient(base_url, token, timeout_s=settings.chatwoot_timeout_s,
                              max_attempts=settings.chatwoot_max_attempts, backoff_s=settings.chatwoot_backoff_s)

    return ConversationPipeline(
        configs=get_config_cache(),
        history=HistoryStore(table, settings.conversation_history_ttl_days),
        ledger=ReplyLedger(table, settings.conversation_history_ttl_days),
        hub=Hub(factory),
        chatwoot_factory=chatwoot,
        settings=PipelineSettings(settings.conversation_debounce_s, settings.conversation_debounce_max_s,
                                  settings.conversation_history_turns),
    )


def record_handler(record: SQSRecord) -> str:
    job = ConversationJob.model_validate_json(record.body)
    outcome = get_pipeline().process(job)
    logger.info("conversation job done", extra={"tenant_id": job.tenant_id, "conversation_id": job.conversation_id,
                                                "message_id": job.message_id, "outcome": outcome})
    return outcome


def _process_group(records: list[dict[str, Any]], context: Any) -> list[dict[str, str]]:
    processor = SqsFifoPartialProcessor()
    # One group is part of a batch: its failing entirely is reported like any partial failure, not raised.
    processor.raise_on_entire_batch_failure = False
    response = process_partial_response(event={"Records": records}, record_handler=record_handler,
                                        processor=processor, context=context)
    return [{"itemIdentifier": str(item["itemIdentifier"])} for item in response.get("batchItemFailures", [])]


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if is_config_changed_event(event):
        get_config_cache().handle_event(event)
        return {}
    groups: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
    for record in event.get("Records", []):
        group = (record.get("attributes") or {}).get("MessageGroupId") or record.get("messageId", "")
        groups.setdefault(group, []).append(record)
    if len(groups) <= 1:
        failures = [f for records in groups.values() for f in _process_group(records, context)]
    else:
        with ThreadPoolExecutor(max_workers=min(len(groups), 10), thread_name_prefix="conversation") as pool:
            results = list(pool.map(lambda records: _process_group(records, context), groups.values()))
        failures = [f for group_failures in results for f in group_failures]
    return {"batchItemFailures": failures}
