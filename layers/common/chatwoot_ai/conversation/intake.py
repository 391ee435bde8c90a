"""The webhook receiver's decision path: size → JSON → tenant (mapping) → signature → filters → de-duplication →
enqueue, in two sequential round trips for a new message.

1. One TransactWriteItems writes, all or nothing: the message record (`chatwoot-message#...`, holding the job), the
   delivery record (`chatwoot-delivery#...`: Chatwoot reuses `X-Chatwoot-Delivery` on retries), each only if absent
   or expired, and the customer's turn in the history.
2. The job goes on the FIFO queue. Its deduplication id is tenant + account + message id, so a repeat within 5
   minutes is accepted by SQS and dropped.

A repeat (Chatwoot's retry, or the same message through an agent bot and an account webhook) fails the transaction's
condition; DynamoDB hands back the stored job, and the receiver sends *that* job again and answers "duplicate". So a
receiver that died between the two steps loses nothing (the retry queues it), and a repeat never becomes a second
answer: within 5 minutes SQS drops it, later the worker sees the same turn key already answered. A failure of either
step answers 500 and Chatwoot retries; the transaction wrote nothing, or everything. Saturation (the intake not done
within its budget, DynamoDB throttling or a transaction conflict) answers 429 with Retry-After instead (`within`,
`saturated`; the receiver applies them): Chatwoot retries that too, and the function is never killed at its Timeout.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import ClientError

from chatwoot_ai.api import header, read_json
from chatwoot_ai.config.documents import PREVIOUS_WEBHOOK_SECRET, WEBHOOK_SECRET_CHANGED_AT
from chatwoot_ai.conversation.chatwoot_events import (
    attachments,
    classify,
    contact,
    contact_identified,
    hmac_verified,
    routing_ids,
)
from chatwoot_ai.conversation.history import HistoryStore, conversation_pk
from chatwoot_ai.conversation.queue_job import (
    MAX_ATTACHMENTS,
    MAX_CONTENT_CHARS,
    Attachment,
    ConversationJob,
    turn_text,
    unread_attachments,
)
from chatwoot_ai.errors import ApiError, bad_request, unauthorized
from chatwoot_ai.models import channel_from_chatwoot
from chatwoot_ai.observability import logger
from chatwoot_ai.signing import SignatureError, verify


class ConfigSource(Protocol):
    """The slice of the config cache (chatwoot_ai.config) the receiver uses."""

    def resolve(self, account_id: int, inbox_id: int | None, installation: str = "default") -> Any: ...
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
    # record rides in the same transaction (no extra round trip, 2 more write units). On by default.
    dedupe_delivery_id: bool = True
    # The previous chatwoot_webhook_secret stays valid this long after a change (0: refused at once).
    secret_overlap_s: int = 3600


def _ignored(reason: str, **extra: Any) -> Outcome:
    logger.info("webhook ignored", extra={"reason": reason, **extra})
    return Outcome(200, {"status": "ignored", "reason": reason})


class Duplicate(Exception):
    """The message was received before; `job` is the one stored then."""

    def __init__(self, job: ConversationJob) -> None:
        super().__init__(f"message {job.message_id} was received before")
        self.job = job


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

    # ------------------------------------------------------------------ the path
    def handle(self, raw_body: bytes, headers: dict[str, str], installation: str = "default") -> Outcome:
        """`installation`: which Chatwoot server sent it (`/webhooks/chatwoot/{installation}`; the old URL is
        "default"): account ids are per installation."""
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
        mapping = self.configs.resolve(account_id, inbox_id, installation)
        if mapping is None:
            return _ignored("unknown inbox", account_id=account_id, inbox_id=inbox_id, installation=installation)
        tenant_id, domain = mapping.tenant_id, mapping.domain
        self._verify(tenant_id, domain, raw_body, headers)
        config = self.configs.config(tenant_id, domain)
        if config is None or not getattr(config, "enabled", True):
            return _ignored("tenant not configured or disabled", tenant_id=tenant_id)
        pk = conversation_pk(tenant_id, account_id, conversation_id)
        log = {"tenant_id": tenant_id, "conversation_id": conversation_id,
               "delivery_id": header(headers, "x-chatwoot-delivery")}
        if decision.action == "takeover" and event == "message_created" and \
                self.history.is_echo(pk, payload.get("id"), payload.get("content")):
            # An account webhook's echo of the bot's own reply (posted with an agent's token): not a human.
            return _ignored("bot echo (account webhook)", tenant_id=tenant_id)
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
            self._record(job)
        except Duplicate as seen:
            self._send(seen.job)  # the stored job again: queued now if the first receiver died before its send
            logger.info("webhook duplicate", extra={**log, "message_id": job.message_id})
            return Outcome(200, {"status": "duplicate", "message_id": job.message_id})
        self._send(job)
        logger.info("webhook handled", extra={**log, "message_id": job.message_id, "status": "queued"})
        return Outcome(200, {"status": "queued", "message_id": job.message_id})

    def _verify(self, tenant_id: str, domain: str, raw_body: bytes, headers: dict[str, str]) -> None:
        credentials = self.configs.credentials(tenant_id, domain)
        secret = getattr(credentials, "chatwoot_webhook_secret", None) if credentials else None
        if secret is None or not secret.get_secret_value():
            logger.warning("no chatwoot_webhook_secret for the tenant; refusing", extra={"tenant_id": tenant_id})
            raise unauthorized("this inbox's tenant has no chatwoot_webhook_secret configured")
        signed = (header(headers, "x-chatwoot-timestamp"), header(headers, "x-chatwoot-signature"), raw_body)
        try:
            verify(secret.get_secret_value(), *signed, tolerance_s=self.settings.tolerance_s, now=self.clock())
        except SignatureError as exc:
            previous = self._previous_secret(credentials)
            if previous is not None:
                try:
                    verify(previous, *signed, tolerance_s=self.settings.tolerance_s, now=self.clock())
                except SignatureError:
                    pass
                else:
                    logger.info("webhook signed with the previous secret (rotation window)",
                                extra={"tenant_id": tenant_id})
                    return
            logger.warning("bad webhook signature", extra={"tenant_id": tenant_id, "reason": str(exc)})
            raise unauthorized(str(exc)) from exc

    def _previous_secret(self, credentials: Any) -> str | None:
        """The secret replaced by the last change, while that change is younger than `secret_overlap_s`; it comes
        with the cached credentials (config.documents), so this costs no read."""
        if self.settings.secret_overlap_s <= 0:
            return None
        extra = getattr(credentials, "model_extra", None) or {}
        previous, changed_at = extra.get(PREVIOUS_WEBHOOK_SECRET), extra.get(WEBHOOK_SECRET_CHANGED_AT)
        if previous is None or changed_at is None:
            return None
        try:
            changed = float(changed_at.get_secret_value())
        except (AttributeError, ValueError):
            return None
        if self.clock() - changed > self.settings.secret_overlap_s:
            return None
        value = previous.get_secret_value() if hasattr(previous, "get_secret_value") else str(previous)
        return value or None

    def _job(self, payload: dict[str, Any], mapping: Any, account_id: int, inbox_id: int | None,
             conversation_id: int, headers: dict[str, str]) -> ConversationJob:
        message_id = payload.get("id")
        if isinstance(message_id, bool) or not isinstance(message_id, int):
            raise bad_request("`id` (the message id) is required", field="id")
        conversation: dict[str, Any] = payload["conversation"] if isinstance(payload.get("conversation"), dict) else {}
        sender: dict[str, Any] = payload["sender"] if isinstance(payload.get("sender"), dict) else {}
        channel = getattr(mapping, "channel", None) or channel_from_chatwoot(conversation.get("channel"))
        contact_id, phone, email = contact(payload)
        if "web_widget" in (channel, channel_from_chatwoot(conversation.get("channel"))) and \
                not hmac_verified(payload):
            # A web-widget visitor types any phone or e-mail; only Chatwoot's identity validation vouches for it.
            phone = email = None
        return ConversationJob(
            tenant_id=mapping.tenant_id, domain=mapping.domain, channel=channel, account_id=account_id,
            inbox_id=inbox_id or 0, conversation_id=conversation_id, message_id=message_id,
            content=str(payload.get("content") or "")[:MAX_CONTENT_CHARS],
            sender_name=str(sender.get("name") or "")[:200] or None,
            conversation_status=conversation.get("status") if isinstance(conversation.get("status"), str) else None,
            delivery_id=(header(headers, "x-chatwoot-delivery") or "")[:100] or None,
            received_at_ms=int(self.clock() * 1000),
            attachments=[Attachment.from_chatwoot(a) for a in attachments(payload)[:MAX_ATTACHMENTS]],
            identified=contact_identified(payload),
            contact_id=contact_id, contact_phone=phone, contact_email=email,
        )

    # ------------------------------------------------------------------ the two round trips
    def _send(self, job: ConversationJob) -> None:
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=job.model_dump_json(),
            MessageGroupId=job.group_id,
            MessageDeduplicationId=f"{job.tenant_id}-{job.account_id}-{job.message_id}",
        )

    def _record(self, job: ConversationJob) -> None:
        """The message and delivery records and the turn, in one transaction; Duplicate when a record exists."""
        now = int(self.clock())
        expires = {"N": str(now + self.settings.idempotency_ttl_s)}
        records = [f"chatwoot-message#{job.tenant_id}#{job.account_id}#{job.message_id}"]
        if job.delivery_id and self.settings.dedupe_delivery_id:
            records.append(f"chatwoot-delivery#{job.tenant_id}#{job.delivery_id}")
        stored = {"S": job.model_dump_json()}
        puts: list[dict[str, Any]] = [{"Put": {
            "TableName": self.idempotency_table,
            "Item": {"id": {"S": record}, "expiration": expires, "job": stored},
            "ConditionExpression": "attribute_not_exists(id) OR expiration < :now",
            "ExpressionAttributeValues": {":now": {"N": str(now)}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }} for record in records]
        pk = conversation_pk(job.tenant_id, job.account_id, job.conversation_id)
        turn = self.history.turn_put(pk, "customer", turn_text(job), job.message_id, job.received_at_ms,
                                     unread_attachments(job))
        try:
            self.dynamodb_client.transact_write_items(TransactItems=[*puts, turn])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons: list[dict[str, Any]] = list(exc.response.get("CancellationReasons") or [])  # type: ignore[call-overload,arg-type]
            for reason in reasons[:len(puts)]:
                if reason.get("Code") == "ConditionalCheckFailed":
                    item = reason.get("Item") or {}
                    raw = (item.get("job") or {}).get("S")
                    raise Duplicate(ConversationJob.model_validate(json.loads(raw)) if raw else job) from exc
            raise  # a conflict with a concurrent transaction, or throttling: 500, and Chatwoot retries


# ------------------------------------------------------------------ answering in time (issue 16, finding 8)
# DynamoDB's answers when it is saturated (throttled, or a conflicting transaction on the same items).
SATURATED = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
                       "TransactionConflictException", "TransactionInProgressException"})


class Busy(Exception):
    """The intake did not finish in time, or DynamoDB is saturated: ask Chatwoot to come back (429 Retry-After)."""


def saturated(exc: BaseException) -> bool:
    if not isinstance(exc, ClientError):
        return False
    error = exc.response.get("Error", {}).get("Code", "")
    reasons = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]  # type: ignore[attr-defined]
    return error in SATURATED or "TransactionConflict" in reasons or "ThrottlingError" in reasons


_INTAKE_THREADS = 4
_intake_pool: Any = None
_intake_pool_lock = threading.Lock()


def _pool() -> Any:
    """The threads intakes run in, started once per process (a thread per webhook cost its start each time)."""
    global _intake_pool
    with _intake_pool_lock:
        if _intake_pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _intake_pool = ThreadPoolExecutor(max_workers=_INTAKE_THREADS, thread_name_prefix="webhook-intake")
        return _intake_pool


def within(seconds: float, work: Callable[[], Outcome]) -> Outcome:
    """`work()`'s outcome, or Busy after `seconds`. The late work goes on in its thread and ends whole or not at all
    (one transaction, then the send): a retry then finds it done ("duplicate", and the stored job is sent again)
    or not begun ("queued"), never half-done. Without this, a slow write under saturation ran the function past its
    Timeout and API Gateway answered 500. While every thread of the pool is still busy with late work, the next
    webhook waits for one, and answers Busy if none frees up in time; its work is then withdrawn (never begun)."""
    from concurrent.futures import TimeoutError as Late

    future = _pool().submit(work)
    try:
        outcome: Outcome = future.result(timeout=seconds)
    except Late as exc:
        future.cancel()  # only a work no thread has started yet: it never runs
        raise Busy(f"not answered within {seconds:.1f} s") from exc
    return outcome
