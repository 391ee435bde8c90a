"""Events for `localcloud invoke` (and `sam local invoke`), as `sam local generate-event` makes them: the same shapes
the runner hands the handlers in `make run` (`gateway.build_event`, the SQS and stream records of `sources`), with
the queue, table and bus names of `infra/template.yaml`.

`events/` holds the examples `examples()` returns (`python -m localcloud generate-event examples --write events`
rewrites them); `python -m localcloud generate-event webhook "Oi"` signs a fresh Chatwoot webhook. HTTP examples of
admin routes carry `${ADMIN_API_KEY}`: `localcloud invoke` fills `${NAME}` from the function's environment.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from localcloud.gateway import Gateway, Route, build_event, compile_path
from localcloud.provision import LOCAL_ACCOUNT, pseudo_params
from localcloud.schedules import scheduled_event
from localcloud.sources import dynamodb_record, sqs_record
from localcloud.template import ROOT, Resolver, functions, load_template

REGION = "us-east-1"
STACK = "chatwoot-ai"
ADMIN = {"x-api-key": "${ADMIN_API_KEY}"}
DEMO_TENANT, DEMO_ACCOUNT, DEMO_INBOX = "sandra", 1, 101
CHATWOOT_FIXTURE = ROOT / "tests/fixtures/chatwoot/01_message_created_incoming_whatsapp_v4.16_code_derived.json"
# Examples are stable files: fixed ids and times instead of fresh ones.
FIXED_TIME = 1_785_420_131
FIXED_ID = "00000000-0000-4000-8000-000000000001"


def _resource_name(logical_id: str, prop: str, stack_name: str = STACK) -> str:
    resource = load_template()["Resources"][logical_id]
    params = pseudo_params(stack_name, REGION)
    return str(Resolver(params, {}, {}).resolve(resource["Properties"][prop]))


def _gateway() -> tuple[Gateway, dict[str, str]]:
    """The template's routes, and the logical id of the function behind each route key."""
    routes, owners = [], {}
    for spec in functions(load_template()):
        for event in spec.events.values():
            if event.get("Type") == "HttpApi":
                props = event["Properties"]
                route = Route(props.get("Method", "ANY").upper(), props["Path"], compile_path(props["Path"]),
                              None)  # type: ignore[arg-type]  # building an event needs no function
                routes.append(route)
                owners[route.route_key] = spec.logical_id
    return Gateway(routes, None), owners


def http_function(method: str, path: str) -> str:
    """The logical id of the function serving this route."""
    gateway, owners = _gateway()
    route, _, _ = gateway.match(method.upper(), urlsplit(path).path)
    if route is None:
        raise ValueError(f"no route of infra/template.yaml serves {method.upper()} {path}")
    return owners[route.route_key]


def http(method: str, path: str, *, headers: dict[str, str] | None = None, body: Any = None,
         raw_body: bytes | None = None) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event for a route of the template; `path` may carry a query string."""
    method = method.upper()
    parts = urlsplit(path)
    route, params, _ = _gateway()[0].match(method, parts.path)
    if route is None:
        raise ValueError(f"no route of infra/template.yaml serves {method} {parts.path}")
    data = raw_body if raw_body is not None else (b"" if body is None else json.dumps(body, ensure_ascii=False)
                                                   .encode("utf-8"))
    sent = {k.lower(): v for k, v in (headers or {}).items()}
    if data and "content-type" not in sent:
        sent["content-type"] = "application/json"
    sent.setdefault("host", "127.0.0.1:3000")
    sent.setdefault("user-agent", "localcloud-generate-event")
    if data:
        sent["content-length"] = str(len(data))
    return build_event(route, method, parts.path, parts.query, sent, data, params, "127.0.0.1", "local")


def sqs(queue_logical_id: str, bodies: list[Any], *, group_id: str | None = None) -> dict[str, Any]:
    """An SQS batch as Lambda's poller delivers it from one of the template's queues."""
    name = _resource_name(queue_logical_id, "QueueName")
    arn = f"arn:aws:sqs:{REGION}:{LOCAL_ACCOUNT}:{name}"
    records = []
    for body in bodies:
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        attributes = {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000)),
                      "SenderId": LOCAL_ACCOUNT, "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000))}
        if name.endswith(".fifo"):
            attributes["MessageGroupId"] = group_id or "example"
            attributes["MessageDeduplicationId"] = hashlib.sha256(text.encode()).hexdigest()
        message = {"MessageId": str(uuid.uuid4()), "ReceiptHandle": str(uuid.uuid4()), "Body": text,
                   "Attributes": attributes, "MD5OfBody": hashlib.md5(text.encode()).hexdigest()}
        records.append(sqs_record(message, arn, REGION))
    return {"Records": records}


def dynamodb_stream(table_logical_id: str, new_image: dict[str, Any] | None, old_image: dict[str, Any] | None = None,
                    *, keys: tuple[str, ...] = ("pk", "sk")) -> dict[str, Any]:
    """One DynamoDB stream record (NEW_AND_OLD_IMAGES) of one of the template's tables."""
    name = _resource_name(table_logical_id, "TableName")
    image = new_image or old_image or {}
    event_name = "INSERT" if old_image is None else ("REMOVE" if new_image is None else "MODIFY")
    change: dict[str, Any] = {"ApproximateCreationDateTime": time.time(),
                              "Keys": {k: image[k] for k in keys if k in image},
                              "SequenceNumber": str(int(time.time() * 1000)), "SizeBytes": len(json.dumps(image)),
                              "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if new_image is not None:
        change["NewImage"] = new_image
    if old_image is not None:
        change["OldImage"] = old_image
    record = {"eventID": uuid.uuid4().hex, "eventName": event_name, "eventVersion": "1.1", "dynamodb": change}
    arn = f"arn:aws:dynamodb:{REGION}:{LOCAL_ACCOUNT}:table/{name}/stream/2026-01-01T00:00:00.000"
    return {"Records": [dynamodb_record(record, arn, REGION)]}


def eventbridge(detail_type: str, source: str, detail: dict[str, Any]) -> dict[str, Any]:
    """An EventBridge event on the template's bus, as a rule target receives it."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source,
            "account": LOCAL_ACCOUNT, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "region": REGION,
            "resources": [], "detail": detail}


def config_changed(tenant_id: str = DEMO_TENANT, domain: str = "default", config_type: str = "config",
                   version: int | None = 1) -> dict[str, Any]:
    return eventbridge("ConfigChanged", "chatwoot-ai.config", {"kind": "config", "tenant_id": tenant_id,
                                                                "domain": domain, "config_type": config_type,
                                                                "version": version})


# -------------------------------------------------------------------- Chatwoot webhooks
def sign(secret: str, timestamp: str | int, raw_body: bytes) -> str:
    """Chatwoot's `X-Chatwoot-Signature`: sha256=<hex HMAC-SHA256(secret, "{timestamp}.{raw body}")>."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()


def message_created(text: str, *, account_id: int = DEMO_ACCOUNT, inbox_id: int = DEMO_INBOX,
                    conversation_id: int = 1, message_id: int | None = None) -> dict[str, Any]:
    """Chatwoot's `message_created` for an incoming WhatsApp message (the v4.16 fixture), moved to this
    account, inbox, conversation and message."""
    payload: dict[str, Any] = copy.deepcopy(json.loads(CHATWOOT_FIXTURE.read_text(encoding="utf-8")))
    message_id = message_id if message_id is not None else int(time.time() * 1000) % 10**9
    payload.update(id=message_id, content=text)
    payload["account"]["id"] = account_id
    payload["inbox"]["id"] = inbox_id
    conversation = payload["conversation"]
    conversation.update(id=conversation_id, inbox_id=inbox_id)
    conversation["account"]["id"] = account_id
    conversation["messages"][0].update(id=message_id, content=text, processed_message_content=text,
                                       account_id=account_id, inbox_id=inbox_id, conversation_id=conversation_id)
    return payload


def signed(payload: dict[str, Any], secret: str | None, *, timestamp: int | None = None,
           delivery_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    """The raw body and headers Chatwoot sends: signed with the tenant's secret (unsigned when None)."""
    raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    headers = {"content-type": "application/json", "x-chatwoot-delivery": delivery_id or str(uuid.uuid4())}
    if secret is not None:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        headers.update({"x-chatwoot-timestamp": stamp, "x-chatwoot-signature": sign(secret, stamp, raw)})
    return raw, headers


def webhook(payload: dict[str, Any], secret: str | None, *, timestamp: int | None = None,
            delivery_id: str | None = None) -> dict[str, Any]:
    """`POST /webhooks/chatwoot` as API Gateway hands it to WebhookReceiverFunction."""
    raw, headers = signed(payload, secret, timestamp=timestamp, delivery_id=delivery_id)
    return http("POST", "/webhooks/chatwoot", headers=headers, raw_body=raw)


# -------------------------------------------------------------------- the examples in events/
def _conversation_job(text: str) -> dict[str, Any]:
    return {"tenant_id": DEMO_TENANT, "domain": "default", "channel": "whatsapp", "account_id": DEMO_ACCOUNT,
            "inbox_id": DEMO_INBOX, "conversation_id": 1, "message_id": 90112, "content": text,
            "sender_name": "Maria Silva", "conversation_status": "pending", "delivery_id": FIXED_ID,
            "received_at_ms": FIXED_TIME * 1000}


def _head_item(tenant_id: str, config_type: str, version: int) -> dict[str, Any]:
    return {"pk": {"S": f"TENANT#{tenant_id}#default"}, "sk": {"S": f"HEAD#{config_type}"}, "kind": {"S": "head"},
            "tenant_id": {"S": tenant_id}, "domain": {"S": "default"}, "config_type": {"S": config_type},
            "version": {"N": str(version)}, "updated_at": {"S": "2026-07-30T14:02:11Z"},
            "data": {"S": json.dumps({"company": {"name": "Sandra Cosméticos", "language": "pt-BR"}},
                                     ensure_ascii=False)}}


def _mapping_item() -> dict[str, Any]:
    return {"pk": {"S": f"ACCOUNT#{DEMO_ACCOUNT}"}, "sk": {"S": "INBOX#*"}, "kind": {"S": "mapping"},
            "chatwoot_account_id": {"N": str(DEMO_ACCOUNT)}, "chatwoot_inbox_id": {"NULL": True},
            "tenant_id": {"S": DEMO_TENANT}, "domain": {"S": "default"}, "channel": {"NULL": True},
            "updated_at": {"S": "2026-07-30T14:02:11Z"}}


LOJA_CONFIG = {
    "company": {"name": "Loja Exemplo", "language": "pt-BR", "timezone": "America/Sao_Paulo"},
    "assistant": {"name": "Ana", "greeting": "Olá! Sou a Ana.", "style": "friendly", "emoji_usage": "moderate"},
    "enabled": True,
    "enabled_collections": ["business_rules", "support_documents", "products"],
    "chatwoot": {"base_url": "https://chat.example.com"},
    "llm": {"model": None},
    "handoff": {"keywords": ["atendente", "humano"], "message": "Vou chamar um atendente."},
}


def _examples() -> dict[str, dict[str, Any]]:
    tenant = {**ADMIN, "x-tenant-id": DEMO_TENANT}
    mcp = {**tenant, "accept": "application/json, text/event-stream"}
    changed = config_changed()
    return {
        # HTTP (API Gateway HTTP API, payload 2.0)
        "ConfigApiFunction": http("GET", "/configs", headers=ADMIN),
        "ConfigApiFunction-get-config": http("GET", f"/configs/{DEMO_TENANT}/default/config", headers=ADMIN),
        "ConfigApiFunction-put-config": http("PUT", "/configs/loja_exemplo/default/config", headers=ADMIN,
                                             body=LOJA_CONFIG),
        "ConfigApiFunction-mapping": http("GET", "/mapping", headers=ADMIN),
        "OdooGatewayFunction": http("GET", "/products?q=protetor&limit=3", headers=tenant),
        "OdooGatewayFunction-mcp-tools": http("POST", "/mcp", headers=mcp, body={
            "jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}),
        "VectorizeApiFunction": http("POST", "/search", headers=ADMIN, body={
            "tenant_id": DEMO_TENANT, "collection": "products", "query": "protetor solar para pele oleosa",
            "limit": 3}),
        "VectorizeApiFunction-vectorize": http("POST", "/vectorize", headers=ADMIN, body={
            "tenant_id": DEMO_TENANT, "collection": "business_rules", "records": [{
                "id": "troca-7-dias", "text": "Trocas em até 7 dias corridos após o recebimento, com nota fiscal.",
                "metadata": {"source": "events/VectorizeApiFunction-vectorize.json"}}]}),
        "VectorizeApiFunction-jobs": http("GET", f"/vectorize/jobs?tenant_id={DEMO_TENANT}", headers=ADMIN),
        "InsightsApiFunction": http("GET", f"/conversations/{DEMO_TENANT}?limit=10", headers=ADMIN),
        "InsightsApiFunction-playground": http("POST", f"/playground/{DEMO_TENANT}", headers=ADMIN, body={
            "messages": ["Oi! Vocês têm protetor solar?"], "channel": "whatsapp", "history": []}),
        "InsightsApiFunction-metrics": http("GET", f"/metrics/{DEMO_TENANT}?days=7", headers=ADMIN),
        "VectorizeApiFunction-odoo-hook": http("POST", "/vectorize/odoo/oh_example-token-issued-by-the-config-api",
                                               body={"_action": "Atualizar produto no bot(#42)", "_id": 7,
                                                     "_model": "product.template", "active": True, "id": 7,
                                                     "list_price": 89.9, "name": "Protetor Solar Facial FPS 50",
                                                     "product_variant_ids": [107]}),
        "WebhookReceiverFunction": webhook(message_created("Oi! Vocês têm protetor solar?", message_id=90112),
                                           None, delivery_id=FIXED_ID),
        # SQS batches
        "ConversationWorkerFunction": sqs("ConversationsQueue", [_conversation_job(
            "Oi! Vocês têm protetor solar? Qual o preço?")], group_id=f"{DEMO_TENANT}:{DEMO_ACCOUNT}:1"),
        "VectorizeWorkerFunction": sqs("VectorizeQueue", [{
            "job_id": "example-job", "tenant_id": DEMO_TENANT, "collection": "business_rules", "part": 0,
            "records": [{"id": "troca-7-dias",
                         "text": "Trocas em até 7 dias corridos após o recebimento, com nota fiscal."}]}]),
        # EventBridge schedule
        "OdooSyncScheduleFunction": scheduled_event(f"{STACK}-OdooSyncScheduleFunction-Every5Minutes", REGION,
                                                    datetime.fromtimestamp(FIXED_TIME, UTC)),
        # DynamoDB streams
        "ConfigStreamFunction": dynamodb_stream("ConfigTable", _head_item(DEMO_TENANT, "config", 2),
                                                _head_item(DEMO_TENANT, "config", 1)),
        "ConfigStreamFunction-mapping": dynamodb_stream("MappingTable", _mapping_item()),
        # EventBridge (each config-caching function's ConfigChanged rule)
        **{f"{fn}-config-changed": changed for fn in (
            "WebhookReceiverFunction", "ConversationWorkerFunction", "ConfigApiFunction", "OdooGatewayFunction",
            "VectorizeApiFunction", "VectorizeWorkerFunction", "InsightsApiFunction",
            "OdooSyncScheduleFunction")},
    }


def _stable(value: Any) -> Any:
    """Fixed ids and times, so regenerating the examples changes nothing."""
    volatile_ids = {"requestId", "id", "MessageId", "ReceiptHandle", "messageId", "receiptHandle", "eventID"}
    volatile_times = {"timeEpoch", "SentTimestamp", "ApproximateFirstReceiveTimestamp", "ApproximateCreationDateTime",
                      "SequenceNumber"}
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in volatile_ids and isinstance(item, str):
                out[key] = FIXED_ID
            elif key in volatile_times:
                out[key] = type(item)(FIXED_TIME * (1000 if key in ("timeEpoch", "SentTimestamp",
                                                                     "ApproximateFirstReceiveTimestamp") else 1))
            elif key == "time" and isinstance(item, str):
                out[key] = ("30/Jul/2026:14:02:11 +0000" if "/" in item else "2026-07-30T14:02:11Z")
            else:
                out[key] = _stable(item)
        return out
    if isinstance(value, list):
        return [_stable(item) for item in value]
    return value


def examples() -> dict[str, dict[str, Any]]:
    """file stem -> event: `events/<FunctionLogicalId>[-case].json`."""
    return {name: _stable(event) for name, event in _examples().items()}


def write_examples(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, event in examples().items():
        path = directory / f"{name}.json"
        path.write_text(json.dumps(event, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
