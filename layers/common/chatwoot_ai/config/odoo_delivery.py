"""A delivery from Odoo (`POST /odoo-webhook`): a tenant's documents and mappings, pushed by its Odoo.

Authentication is per tenant (chatwoot_ai.signing, scheme ODOO): `X-Odoo-Signature: sha256=<hex HMAC-SHA256 of
"<X-Odoo-Timestamp>.<raw body>">` keyed with the `odoo_webhook_secret` of that tenant's `credentials` document (same
tenant_id and domain as the body). The timestamp must be within 5 minutes, so a captured request cannot be replayed
later; within that window the `delivery_id` makes a replay (or Odoo's own retry) a no-op that returns the first
answer.

Everything in one delivery is validated first and written in one DynamoDB transaction together with the delivery
record: it is applied whole, once, or not at all. A delivery can only map inboxes that are free or already the
tenant's own, of an account no other tenant maps in any form (account-wide or another inbox: issue 16, finding 1).
The transaction's conditions hold the claimed entry and the account-wide one; another tenant's new inbox entry
written between the read and the write (by another process) is the one race they do not cover.
"""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chatwoot_ai.api import header, read_json
from chatwoot_ai.config.service import MAX_ATTEMPTS, WRITE_LOCK, ConfigService, backoff, is_cancelled
from chatwoot_ai.config.tables import inbox_sk
from chatwoot_ai.errors import ApiError, bad_request, from_validation_error, unauthorized
from chatwoot_ai.models import DEFAULT_INSTALLATION, Channel, ChatwootId, Installation, Mapping, check_identifier
from chatwoot_ai.observability import logger
from chatwoot_ai.signing import ODOO, SignatureError, verify

SIGNATURE_TOLERANCE_S = 300
DELIVERY_TTL_S = 7 * 24 * 3600
SECRET_KEY = "odoo_webhook_secret"
WRITTEN_BY = "odoo-webhook"


class OdooMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    chatwoot_account_id: ChatwootId
    chatwoot_inbox_id: ChatwootId | None = None
    channel: Channel | None = None
    installation: Installation = DEFAULT_INSTALLATION


class OdooDelivery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delivery_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    tenant_id: str
    domain: str = "default"
    documents: dict[str, dict[str, Any]] = Field(default_factory=dict)
    mappings: list[OdooMapping] = Field(default_factory=list, max_length=50)

    @field_validator("tenant_id", "domain")
    @classmethod
    def _ids(cls, value: str, info: Any) -> str:
        return check_identifier(value, info.field_name)

    @field_validator("documents")
    @classmethod
    def _types(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for config_type in value:
            check_identifier(config_type, "config_type")
        if len(value) > 10:
            raise ValueError("at most 10 documents per delivery")
        return value


class OdooWebhook:
    def __init__(self, service: ConfigService, idempotency_table: str, clock: Any = time.time) -> None:
        self.service = service
        self.idempotency_table = idempotency_table
        self.clock = clock

    def handle(self, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        raw = read_json(body, object_only=True)
        tenant_id, domain = raw.get("tenant_id"), raw.get("domain") or "default"
        if not isinstance(tenant_id, str) or not isinstance(domain, str):
            raise bad_request("tenant_id is required", "tenant_id")
        self._verify(tenant_id, domain, body, headers)  # before anything else is looked at
        try:
            delivery = OdooDelivery.model_validate(raw)
        except ValidationError as exc:
            raise from_validation_error(exc) from exc
        if not delivery.documents and not delivery.mappings:
            raise ApiError(422, "validation_error", "nothing to apply: give documents and/or mappings", "documents")
        return self._apply(delivery)

    def _verify(self, tenant_id: str, domain: str, body: bytes, headers: dict[str, str]) -> None:
        try:
            verify(self._secret(tenant_id, domain), header(headers, ODOO.timestamp_header),
                   header(headers, ODOO.signature_header), body, scheme=ODOO, tolerance_s=SIGNATURE_TOLERANCE_S,
                   now=self.clock())
        except SignatureError as exc:
            raise unauthorized(str(exc)) from exc

    def _secret(self, tenant_id: str, domain: str) -> str | None:
        try:
            check_identifier(tenant_id, "tenant_id")
            check_identifier(domain, "domain")
            credentials = self.service.configs.get(tenant_id, domain, "credentials")
        except ValueError:
            return None
        secret = credentials.data.get(SECRET_KEY) if credentials else None
        return secret if isinstance(secret, str) else None

    def _apply(self, delivery: OdooDelivery) -> dict[str, Any]:
        record_id = f"odoo-webhook#{delivery.tenant_id}#{delivery.delivery_id}"
        for attempt in range(MAX_ATTEMPTS):
            try:
                with WRITE_LOCK:
                    return self._attempt(delivery, record_id)
            except ClientError as exc:
                if not is_cancelled(exc):
                    raise
                backoff(attempt)  # a concurrent write, or the same delivery at the same time: look again
        raise ApiError(409, "conflict", "too many concurrent writes; retry the delivery")

    def _attempt(self, delivery: OdooDelivery, record_id: str) -> dict[str, Any]:
        """One read-validate-write pass; raises ClientError when the transaction lost a race."""
        previous = self._previous(record_id)
        if previous is not None:
            return {**previous, "duplicate": True}
        items: list[dict[str, Any]] = []
        documents = []
        for config_type, data in delivery.documents.items():
            try:
                doc_items, result = self.service.prepare(delivery.tenant_id, delivery.domain, config_type, data,
                                                         written_by=WRITTEN_BY)
            except ApiError as exc:
                exc.field = f"documents.{config_type}" + (f".{exc.field}" if exc.field else "")
                raise
            items += doc_items
            documents.append({"config_type": config_type, "version": result["version"]})
        updated_at = self.service.now()
        written: set[tuple[str, str]] = set()
        account_wide: dict[tuple[str, str], dict[str, Any]] = {}
        for index, entry in enumerate(delivery.mappings):
            mapping = Mapping(tenant_id=delivery.tenant_id, domain=delivery.domain, **entry.model_dump())
            if self.service.claim_conflict(mapping) is not None:  # in any form: account-wide or any of its inboxes
                raise ApiError(403, "forbidden", "this account is mapped to another tenant", f"mappings.{index}")
            put = self.service.mappings.put_item(mapping, updated_at)
            put["Put"]["ConditionExpression"] = "attribute_not_exists(pk) OR tenant_id = :tenant"
            put["Put"]["ExpressionAttributeValues"] = {":tenant": {"S": delivery.tenant_id}}
            items.append(put)
            pk = put["Put"]["Item"]["pk"]["S"]
            written.add((pk, put["Put"]["Item"]["sk"]["S"]))
            account_wide[(pk, inbox_sk(None))] = {  # must stay absent or ours while we write
                "TableName": self.service.mappings.table_name, "Key": {"pk": {"S": pk}, "sk": {"S": inbox_sk(None)}},
                "ConditionExpression": "attribute_not_exists(pk) OR tenant_id = :tenant",
                "ExpressionAttributeValues": {":tenant": {"S": delivery.tenant_id}}}
        items += [{"ConditionCheck": check} for key, check in account_wide.items() if key not in written]
        result = {"delivery_id": delivery.delivery_id, "tenant_id": delivery.tenant_id,
                  "domain": delivery.domain, "documents": documents, "mappings": len(delivery.mappings),
                  "duplicate": False}
        items.append({"Put": {
            "TableName": self.idempotency_table,
            "Item": {"id": {"S": record_id}, "status": {"S": "COMPLETED"},
                     "expiration": {"N": str(int(self.clock()) + DELIVERY_TTL_S)},
                     "data": {"S": json.dumps(result)}},
            "ConditionExpression": "attribute_not_exists(id) OR expiration < :now",
            "ExpressionAttributeValues": {":now": {"N": str(int(self.clock()))}},
        }})
        self.service.client.transact_write_items(TransactItems=items)
        for config_type in delivery.documents:
            self.service.prune(delivery.tenant_id, delivery.domain, config_type)
        logger.info("odoo delivery applied", extra={"tenant_id": delivery.tenant_id,
                                                    "delivery_id": delivery.delivery_id})
        return result

    def _previous(self, record_id: str) -> dict[str, Any] | None:
        response = self.service.client.get_item(TableName=self.idempotency_table, Key={"id": {"S": record_id}},
                                                ConsistentRead=True)
        item = response.get("Item")
        if not item:
            return None
        expiration = int(item.get("expiration", {}).get("N", "0"))
        if expiration and expiration < self.clock():
            return None  # TTL deletion is lazy; an expired record no longer counts
        data: dict[str, Any] = json.loads(item.get("data", {}).get("S", "{}"))
        return data
