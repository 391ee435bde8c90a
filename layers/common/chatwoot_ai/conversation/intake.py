"""The webhook receiver's decision path: size → JSON → tenant (mapping) → signature → filters → de-duplication →
enqueue.

De-duplication is Powertools Idempotency on the IdempotencyTable, twice: on `X-Chatwoot-Delivery` (Chatwoot reuses it
on retries) and on the message id (one message can arrive through both an agent bot and an account webhook, with
different delivery ids). The FIFO queue's deduplication id (tenant + message id) is a third net for 5 minutes.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from chatwoot_ai.api import header, read_json
from chatwoot_ai.conversation.chatwoot_events import classify, routing_ids
from chatwoot_ai.conversation.history import HistoryStore, conversation_pk
from chatwoot_ai.conversation.queue_job import MAX_CONTENT_CHARS, ConversationJob
from chatwoot_ai.errors import ApiError, bad_request, unauthorized
from chatwoot_ai.models import channel_from_chatwoot
from chatwoot_ai.observability import logger
from chatwoot_ai.signing import SignatureError, verify

_WRITER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="history")


class ConfigSource(Protocol):
    """The slice of the config cache (chatwoot_ai.config) the receiver uses."""

    def resolve(self, account_id: int, inbox_id: int | None) -> Any: ...
    def config(self, tenant_id: str, domain: str = "default") -> Any: ...
    def credentials(self, tenant_id: str, domain: str = "default") -> Any: ...


@dataclass
class Outcome:
    status: int
    body: dict[str, Any]


@dataclass
class IntakeSettings:
    max_body_bytes: int = 256 * 1024
    tolerance_s: int = 300
    idempotency_ttl_s: int = 24 * 3600
    # The message-id record alone already catches Chatwoot's retries (same delivery, same message); the delivery-id
    # record costs two more DynamoDB round trips per new message. On by default; bench_conversation measures both.
    dedupe_delivery_id: bool = True


def _ignored(reason: str, **extra: Any) -> Outcome:
    logger.info("webhook ignored", extra={"reason": reason, **extra})
    return Outcome(200, {"status": "ignored", "reason": reason})


def _mark_duplicate(response: Any, _record: Any) -> Any:
    if isinstance(response, dict):
        return {**response, "status": "duplicate"}
    return response


@dataclass
class Intake:
    configs: ConfigSource
    sqs: Any
    queue_url: str
    history: HistoryStore
    idempotency_table: str
    dynamodb_client: Any
    settings: IntakeSettings = field(default_factory=IntakeSettings)
    clock: Any = time.time

    def __post_init__(self) -> None:
        ttl = self.settings.idempotency_ttl_s
        # One persistence layer per key: Powertools configures a layer once, with the first caller's config.
        by_message = DynamoDBPersistenceLayer(table_name=self.idempotency_table, boto3_client=self.dynamodb_client)
        by_delivery = DynamoDBPersistenceLayer(table_name=self.idempotency_table, boto3_client=self.dynamodb_client)
        self._configs = [
            IdempotencyConfig(event_key_jmespath="[tenant_id, to_string(account_id), to_string(message_id)]",
                              expires_after_seconds=ttl, raise_on_no_idempotency_key=True,
                              response_hook=_mark_duplicate),  # type: ignore[arg-type]
            IdempotencyConfig(event_key_jmespath="[tenant_id, delivery_id]", expires_after_seconds=ttl,
                              raise_on_no_idempotency_key=True, response_hook=_mark_duplicate),  # type: ignore[arg-type]
        ]
        self._enqueue_once = idempotent_function(
            data_keyword_argument="job", persistence_store=by_message, key_prefix="chatwoot-message",
            config=self._configs[0],
        )(self._enqueue)
        self._deliver_once = idempotent_function(
            data_keyword_argument="delivery", persistence_store=by_delivery, key_prefix="chatwoot-delivery",
            config=self._configs[1],
        )(self._by_delivery)

    def register_context(self, context: Any) -> None:
        """Lets an in-progress record expire with the invocation, so a crashed one does not block retries."""
        if context is not None and hasattr(context, "get_remaining_time_in_millis"):
            for config in self._configs:
                config.register_lambda_context(context)

    # ------------------------------------------------------------------ the path
    def handle(self, raw_body: bytes, headers: dict[str, str]) -> Outcome:
        if len(raw_body) > self.settings.max_body_bytes:
            raise ApiError(413, "payload_too_large", f"body over {self.settings.max_body_bytes} bytes")
        payload: dict[str, Any] = read_json(raw_body, object_only=True)
        event = payload.get("event")
        if not isinstance(event, str) or not event:
            raise bad_request("`event` is required", field="event")
        decision = classify(payload)
        account_id, inbox_id, conversation_id = routing_ids(payload)
        if decision.action == "ignore":
            # Nothing happens for it, so there is nothing to authenticate; say why and stop.
            return _ignored(decision.reason, event=event, account_id=account_id)
        if account_id is None:
            raise bad_request("`account.id` is required", field="account.id")
        if conversation_id is None:
            field_name = "conversation.id" if event == "message_created" else "id"
            raise bad_request(f"`{field_name}` is required", field=field_name)
        mapping = self.configs.resolve(account_id, inbox_id)
        if mapping is None:
            return _ignored("unknown inbox", account_id=account_id, inbox_id=inbox_id)
        tenant_id, domain = mapping.tenant_id, mapping.domain
        self._verify(tenant_id, domain, raw_body, headers)
        config = self.configs.config(tenant_id, domain)
        if config is None or not getattr(config, "enabled", True):
            return _ignored("tenant not configured or disabled", tenant_id=tenant_id)
        pk = conversation_pk(tenant_id, account_id, conversation_id)
        log = {"tenant_id": tenant_id, "conversation_id": conversation_id,
               "delivery_id": header(headers, "x-chatwoot-delivery")}
        if decision.action == "takeover":
            self.history.set_takeover(pk, True, decision.reason)
            logger.info("human takeover recorded", extra={**log, "reason": decision.reason})
            return Outcome(200, {"status": "noted", "reason": decision.reason})
        if decision.action == "release":
            self.history.set_takeover(pk, False, decision.reason)
            logger.info("conversation back to the bot", extra=log)
            return Outcome(200, {"status": "noted", "reason": decision.reason})
        job = self._job(payload, mapping, account_id, inbox_id, conversation_id, headers)
        try:
            if job.delivery_id and self.settings.dedupe_delivery_id:
                result = self._deliver_once(delivery={"tenant_id": tenant_id, "delivery_id": job.delivery_id,
                                                      "job": job.model_dump()})
            else:
                result = self._enqueue_once(job=job.model_dump())
        except IdempotencyAlreadyInProgressError:
            return Outcome(200, {"status": "duplicate", "message_id": job.message_id})
        logger.info("webhook handled", extra={**log, "message_id": job.message_id, "status": result["status"]})
        return Outcome(200, result)

    def _verify(self, tenant_id: str, domain: str, raw_body: bytes, headers: dict[str, str]) -> None:
        credentials = self.configs.credentials(tenant_id, domain)
        secret = getattr(credentials, "chatwoot_webhook_secret", None) if credentials else None
        if secret is None or not secret.get_secret_value():
            logger.warning("no chatwoot_webhook_secret for the tenant; refusing", extra={"tenant_id": tenant_id})
            raise unauthorized("this inbox's tenant has no chatwoot_webhook_secret configured")
        try:
            verify(secret.get_secret_value(), header(headers, "x-chatwoot-timestamp"),
                   header(headers, "x-chatwoot-signature"), raw_body, tolerance_s=self.settings.tolerance_s,
                   now=self.clock())
        except SignatureError as exc:
            logger.warning("bad webhook signature", extra={"tenant_id": tenant_id, "reason": str(exc)})
            raise unauthorized(str(exc)) from exc

    def _job(self, payload: dict[str, Any], mapping: Any, account_id: int, inbox_id: int | None,
             conversation_id: int, headers: dict[str, str]) -> ConversationJob:
        message_id = payload.get("id")
        if isinstance(message_id, bool) or not isinstance(message_id, int):
            raise bad_request("`id` (the message id) is required", field="id")
        conversation: dict[str, Any] = payload["conversation"] if isinstance(payload.get("conversation"), dict) else {}
        sender: dict[str, Any] = payload["sender"] if isinstance(payload.get("sender"), dict) else {}
        channel = getattr(mapping, "channel", None) or channel_from_chatwoot(conversation.get("channel"))
        return ConversationJob(
            tenant_id=mapping.tenant_id, domain=mapping.domain, channel=channel, account_id=account_id,
            inbox_id=inbox_id or 0, conversation_id=conversation_id, message_id=message_id,
            content=str(payload.get("content") or "")[:MAX_CONTENT_CHARS],
            sender_name=str(sender.get("name") or "")[:200] or None,
            conversation_status=conversation.get("status") if isinstance(conversation.get("status"), str) else None,
            delivery_id=(header(headers, "x-chatwoot-delivery") or "")[:100] or None,
            received_at_ms=int(self.clock() * 1000),
        )

    # ------------------------------------------------------------------ idempotent steps
    def _by_delivery(self, delivery: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._enqueue_once(job=delivery["job"])
        return result

    def _enqueue(self, job: dict[str, Any]) -> dict[str, Any]:
        parsed = ConversationJob.model_validate(job)
        pk = conversation_pk(parsed.tenant_id, parsed.account_id, parsed.conversation_id)
        # The turn goes to the history too: the worker's debounce reads it to see a burst whose later jobs are still
        # queued behind the first. Both writes run at once (the worker also writes its own turn, so no race); a
        # failure of either raises, the idempotency record is dropped, and Chatwoot's retry redoes both (the turn is
        # the same item, the queue de-duplicates the job).
        turn = _WRITER.submit(self.history.add_turn, pk, "customer", parsed.content, parsed.message_id,
                              parsed.received_at_ms)
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=parsed.model_dump_json(),
            MessageGroupId=parsed.group_id,
            MessageDeduplicationId=f"{parsed.tenant_id}-{parsed.account_id}-{parsed.message_id}",
        )
        turn.result(timeout=4)
        return {"status": "queued", "message_id": parsed.message_id}
