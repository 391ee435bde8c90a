"""The receiver's decisions: signature, filters, tenant routing, de-duplication, enqueue (on the emulated cloud)."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from pydantic import SecretStr
from support.webhook_fixtures import create_pipeline_resources

from chatwoot_ai.conversation.chatwoot_events import classify, routing_ids
from chatwoot_ai.conversation.history import HistoryStore, conversation_pk
from chatwoot_ai.conversation.intake import Intake, IntakeSettings
from chatwoot_ai.conversation.queue_job import ConversationJob
from chatwoot_ai.errors import ApiError
from chatwoot_ai.models import Credentials, Mapping, TenantConfig
from chatwoot_ai.signing import SignatureError, sign, verify
from devtools.chatwoot_payloads import ECHO, INCOMING, agent_message, echo, incoming, load, signed, status_changed

SECRET = "s3cret-for-tests"


# ---------------------------------------------------------------------------- signature vector (shared fixture)
def test_signature_vector_from_the_fixture_verifies(fixtures_dir: Any) -> None:
    vector = json.loads((fixtures_dir / "chatwoot" / "01_signature_test_vector.json").read_text())
    raw = (fixtures_dir / "chatwoot" / vector["body_file"]).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == vector["body_sha256"]
    headers = vector["headers"]
    ts = int(headers["X-Chatwoot-Timestamp"])
    assert sign(vector["secret"], ts, raw) == headers["X-Chatwoot-Signature"]
    verify(vector["secret"], headers["X-Chatwoot-Timestamp"], headers["X-Chatwoot-Signature"], raw, now=ts + 10)


def test_signature_over_reserialized_json_or_other_secret_fails(fixtures_dir: Any) -> None:
    vector = json.loads((fixtures_dir / "chatwoot" / "01_signature_test_vector.json").read_text())
    raw = (fixtures_dir / "chatwoot" / vector["body_file"]).read_bytes()
    headers = vector["headers"]
    ts = int(headers["X-Chatwoot-Timestamp"])
    reserialized = json.dumps(json.loads(raw), indent=1).encode()
    with pytest.raises(SignatureError, match="does not match"):
        verify(vector["secret"], str(ts), headers["X-Chatwoot-Signature"], reserialized, now=ts)
    with pytest.raises(SignatureError, match="does not match"):
        verify("another-secret", str(ts), headers["X-Chatwoot-Signature"], raw, now=ts)


@pytest.mark.parametrize("skew", [-301, 301, 10_000])
def test_stale_or_future_timestamps_are_refused(fixtures_dir: Any, skew: int) -> None:
    vector = json.loads((fixtures_dir / "chatwoot" / "01_signature_test_vector.json").read_text())
    raw = (fixtures_dir / "chatwoot" / vector["body_file"]).read_bytes()
    headers = vector["headers"]
    ts = int(headers["X-Chatwoot-Timestamp"])
    with pytest.raises(SignatureError, match="300 s"):
        verify(vector["secret"], str(ts), headers["X-Chatwoot-Signature"], raw, now=ts + skew)
    verify(vector["secret"], str(ts), headers["X-Chatwoot-Signature"], raw, now=ts + (299 if skew > 0 else -299))


def test_missing_or_malformed_signature_headers() -> None:
    with pytest.raises(SignatureError, match="Signature header is missing"):
        verify(SECRET, "1", None, b"{}", now=1)
    with pytest.raises(SignatureError, match="Timestamp header is missing"):
        verify(SECRET, None, "sha256=00", b"{}", now=1)
    for malformed in ("yesterday", "9" * 400, "-5", "1e9"):  # a 400 naming the header, not a 401 (or a 500)
        with pytest.raises(ApiError, match="Unix time") as refused:
            verify(SECRET, malformed, "sha256=00", b"{}", now=1)
        assert (refused.value.status, refused.value.field) == (400, "X-Chatwoot-Timestamp")


# ---------------------------------------------------------------------------- filters
def test_fixture_incoming_is_answered_and_echo_is_ignored() -> None:
    assert classify(load(INCOMING)).action == "enqueue"
    assert routing_ids(load(INCOMING)) == (3, 12, 431)
    decision = classify(load(ECHO))
    assert (decision.action, decision.reason) == ("ignore", "bot echo")


@pytest.mark.parametrize(("changes", "action"), [
    ({"private": True}, "ignore"),
    ({"message_type": "template"}, "ignore"),
    ({"message_type": "activity"}, "ignore"),
    ({"content": "   "}, "ignore"),
    ({"event": "conversation_created"}, "ignore"),
    ({"event": "message_updated"}, "ignore"),
    ({"message_type": "outgoing", "sender": {"id": 1, "name": "Joana", "type": "user"}}, "takeover"),
    ({"message_type": "outgoing", "private": True, "sender": {"id": 1, "type": "user"}}, "ignore"),
    ({"message_type": "outgoing", "sender": {"id": 9, "type": "captain_assistant"}}, "ignore"),
])
def test_message_filters(changes: dict[str, Any], action: str) -> None:
    payload = load(INCOMING)
    payload.update(changes)
    assert classify(payload).action == action


def test_conversation_status_changes_release_or_take_over() -> None:
    base = {"event": "conversation_status_changed", "id": 431, "inbox_id": 12, "account": {"id": 3}}
    assert classify({**base, "status": "pending"}).action == "release"
    opened = {**base, "status": "open",
              "changed_attributes": [{"status": {"previous_value": "pending", "current_value": "open"}}]}
    assert classify(opened).action == "takeover"
    # Resolved ends a human takeover too: the customer's next message is the bot's again (issue 15).
    assert classify({**base, "status": "resolved"}).action == "release"
    assert classify({**base, "status": "snoozed"}).action == "ignore"
    assert routing_ids(opened) == (3, 12, 431)


# ---------------------------------------------------------------------------- the intake on the emulated cloud
@dataclass
class FakeConfigs:
    mappings: dict[tuple[int, int | None], Mapping] = field(default_factory=dict)
    configs: dict[str, TenantConfig] = field(default_factory=dict)
    creds: dict[str, Credentials] = field(default_factory=dict)

    def resolve(self, account_id: int, inbox_id: int | None, installation: str = "default") -> Mapping | None:
        if installation != "default":  # these fakes hold the default installation's entries only
            return None
        return self.mappings.get((account_id, inbox_id)) or self.mappings.get((account_id, None))

    def config(self, tenant_id: str, domain: str = "default") -> TenantConfig | None:
        return self.configs.get(tenant_id)

    def credentials(self, tenant_id: str, domain: str = "default") -> Credentials | None:
        return self.creds.get(tenant_id)


@pytest.fixture
def setup(moto_endpoint: str, tenant_id: str) -> dict[str, Any]:
    names = create_pipeline_resources(moto_endpoint, "u" + uuid.uuid4().hex[:8])
    account = 1000 + uuid.uuid4().int % 100000
    configs = FakeConfigs()
    configs.mappings[(account, 12)] = Mapping(chatwoot_account_id=account, chatwoot_inbox_id=12, tenant_id=tenant_id)
    configs.configs[tenant_id] = TenantConfig.model_validate({"company": {"name": "Loja"}})
    configs.creds[tenant_id] = Credentials(chatwoot_webhook_secret=SecretStr(SECRET))
    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    history = HistoryStore(boto3.resource("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
                           .Table(names["history_table"]))
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1")
    intake = Intake(configs=configs, sqs=sqs, queue_url=names["queue_url"], history=history,
                    idempotency_table=names["idempotency_table"], dynamodb_client=ddb)
    return {"intake": intake, "sqs": sqs, "queue_url": names["queue_url"], "account": account, "configs": configs,
            "history": history, "tenant_id": tenant_id}


def _queued(setup: dict[str, Any]) -> list[ConversationJob]:
    out = []
    while True:
        got = setup["sqs"].receive_message(QueueUrl=setup["queue_url"], MaxNumberOfMessages=10,
                                           AttributeNames=["All"]).get("Messages", [])
        if not got:
            return out
        for message in got:
            out.append(ConversationJob.model_validate_json(message["Body"]))
            assert message["Attributes"]["MessageGroupId"] == out[-1].group_id
            setup["sqs"].delete_message(QueueUrl=setup["queue_url"], ReceiptHandle=message["ReceiptHandle"])


def test_incoming_message_is_enqueued_once_with_its_tenant(setup: dict[str, Any]) -> None:
    payload = incoming(setup["account"], 12, 77, 5001, "Olá, vocês têm o tênis azul 42?")
    raw, headers = signed(payload, SECRET)
    outcome = setup["intake"].handle(raw, headers)
    assert (outcome.status, outcome.body["status"]) == (200, "queued")
    jobs = _queued(setup)
    assert len(jobs) == 1
    job = jobs[0]
    assert (job.tenant_id, job.conversation_id, job.message_id, job.channel) == (setup["tenant_id"], 77, 5001,
                                                                                   "whatsapp")
    assert job.content == "Olá, vocês têm o tênis azul 42?"
    assert job.group_id.startswith(setup["tenant_id"] + ":")
    turns = setup["history"].turns(conversation_pk(setup["tenant_id"], setup["account"], 77))
    assert [(t.role, t.content) for t in turns] == [("customer", "Olá, vocês têm o tênis azul 42?")]


def test_retried_delivery_and_same_message_on_another_delivery_are_not_enqueued_again(setup: dict[str, Any]) -> None:
    payload = incoming(setup["account"], 12, 78, 5002, "Qual o prazo de entrega?")
    raw, headers = signed(payload, SECRET)
    assert setup["intake"].handle(raw, headers).body["status"] == "queued"
    # Chatwoot's retry: same delivery id, same bytes.
    assert setup["intake"].handle(raw, headers).body["status"] == "duplicate"
    # The same message through a second webhook (agent bot + account webhook): another delivery id.
    raw2, headers2 = signed(payload, SECRET)
    assert headers2["X-Chatwoot-Delivery"] != headers["X-Chatwoot-Delivery"]
    assert setup["intake"].handle(raw2, headers2).body["status"] == "duplicate"
    assert len(_queued(setup)) == 1


def test_message_id_record_alone_still_catches_retries(setup: dict[str, Any]) -> None:
    lean = Intake(configs=setup["configs"], sqs=setup["sqs"], queue_url=setup["queue_url"],
                  history=setup["history"], idempotency_table=setup["intake"].idempotency_table,
                  dynamodb_client=setup["intake"].dynamodb_client, settings=IntakeSettings(dedupe_delivery_id=False))
    raw, headers = signed(incoming(setup["account"], 12, 84, 5009, "oi"), SECRET)
    assert lean.handle(raw, headers).body["status"] == "queued"
    assert lean.handle(raw, headers).body["status"] == "duplicate"
    assert len(_queued(setup)) == 1


@pytest.mark.parametrize("tamper", ["secret", "body", "stale"])
def test_bad_signatures_get_401_and_nothing_is_enqueued(setup: dict[str, Any], tamper: str) -> None:
    payload = incoming(setup["account"], 12, 79, 5003, "oi")
    if tamper == "secret":
        raw, headers = signed(payload, "wrong-secret")
    elif tamper == "stale":
        raw, headers = signed(payload, SECRET, timestamp=1_000_000_000)
    else:
        raw, headers = signed(payload, SECRET)
        raw = raw.replace(b'"oi"', b'"OI"')
    with pytest.raises(ApiError) as caught:
        setup["intake"].handle(raw, headers)
    assert caught.value.status == 401
    assert _queued(setup) == []


def test_unknown_inbox_and_disabled_tenant_are_ignored_with_200(setup: dict[str, Any]) -> None:
    raw, headers = signed(incoming(setup["account"], 999, 80, 5004, "oi"), SECRET)
    outcome = setup["intake"].handle(raw, headers)
    assert (outcome.status, outcome.body) == (200, {"status": "ignored", "reason": "unknown inbox"})
    setup["configs"].configs[setup["tenant_id"]] = TenantConfig.model_validate(
        {"company": {"name": "Loja"}, "enabled": False})
    raw, headers = signed(incoming(setup["account"], 12, 80, 5005, "oi"), SECRET)
    assert setup["intake"].handle(raw, headers).body["status"] == "ignored"
    assert _queued(setup) == []


@pytest.mark.parametrize(("raw", "status", "field"), [
    (b"{not json", 400, "body"),
    (b"[1, 2]", 400, "body"),
    (b"", 400, "body"),
    (b'{"message_type": "incoming"}', 400, "event"),
    (json.dumps({"event": "message_created", "message_type": "incoming", "content": "oi",
                 "conversation": {"id": 1}}).encode(), 400, "account.id"),
    (json.dumps({"event": "message_created", "message_type": "incoming", "content": "oi",
                 "account": {"id": 1}, "inbox": {"id": 12}}).encode(), 400, "conversation.id"),
    (b'{"event": "message_created", "content": "' + b"x" * 300_000 + b'"}', 413, None),
])
def test_malformed_bodies_get_a_clear_4xx(setup: dict[str, Any], raw: bytes, status: int, field: str | None) -> None:
    with pytest.raises(ApiError) as caught:
        setup["intake"].handle(raw, {})
    assert caught.value.status == status
    assert caught.value.field == field
    assert _queued(setup) == []


def test_message_without_id_is_refused_after_the_signature(setup: dict[str, Any]) -> None:
    payload = incoming(setup["account"], 12, 81, 5006, "oi")
    del payload["id"]
    raw, headers = signed(payload, SECRET)
    with pytest.raises(ApiError) as caught:
        setup["intake"].handle(raw, headers)
    assert (caught.value.status, caught.value.field) == (400, "id")


def test_human_reply_records_a_takeover_and_pending_releases_it(setup: dict[str, Any]) -> None:
    account, tenant = setup["account"], setup["tenant_id"]
    pk = conversation_pk(tenant, account, 82)
    human = incoming(account, 12, 82, 5007, "Oi Maria, aqui é a Joana.", message_type="outgoing",
                     sender={"id": 4, "name": "Joana", "type": "user"})
    raw, headers = signed(human, SECRET)
    assert setup["intake"].handle(raw, headers).body["status"] == "noted"
    assert setup["history"].state(pk).human_takeover is True
    pending = {"event": "conversation_status_changed", "id": 82, "inbox_id": 12, "account": {"id": account},
               "status": "pending"}
    raw, headers = signed(pending, SECRET)
    assert setup["intake"].handle(raw, headers).body["status"] == "noted"
    assert setup["history"].state(pk).human_takeover is False
    assert _queued(setup) == []


def test_bot_echo_is_ignored_without_touching_anything(setup: dict[str, Any]) -> None:
    raw, headers = signed(echo(setup["account"], 12, 83, 5008), SECRET)
    assert setup["intake"].handle(raw, headers).body == {"status": "ignored", "reason": "bot echo"}
    assert _queued(setup) == []


class _Counting:
    """A boto3 client that counts its calls and can fail the next N of one operation."""

    def __init__(self, client: Any) -> None:
        self.client, self.calls, self.fail, self.sent = client, [], {}, []  # type: ignore[var-annotated]

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            if name == "send_message":
                self.sent.append(ConversationJob.model_validate_json(kwargs["MessageBody"]))
            if self.fail.get(name, 0) > 0:
                self.fail[name] -= 1
                raise ConnectionError(f"{name} failed")
            return method(*args, **kwargs)

        return call


def _counted(setup: dict[str, Any]) -> tuple[Intake, _Counting, _Counting]:
    ddb, sqs = _Counting(setup["intake"].dynamodb_client), _Counting(setup["sqs"])
    intake = Intake(configs=setup["configs"], sqs=sqs, queue_url=setup["queue_url"], history=setup["history"],
                    idempotency_table=setup["intake"].idempotency_table, dynamodb_client=ddb)
    return intake, ddb, sqs


def test_a_new_message_costs_two_round_trips(setup: dict[str, Any]) -> None:
    intake, ddb, sqs = _counted(setup)
    raw, headers = signed(incoming(setup["account"], 12, 90, 6001, "oi"), SECRET)
    assert intake.handle(raw, headers).body["status"] == "queued"
    assert (ddb.calls, sqs.calls) == (["transact_write_items"], ["send_message"])
    assert intake.handle(raw, headers).body["status"] == "duplicate"  # a repeat: two as well
    assert (ddb.calls[1:], sqs.calls[1:]) == (["transact_write_items"], ["send_message"])
    assert len(_queued(setup)) == 1  # the repeat's send is dropped by the FIFO queue's deduplication


def test_a_receiver_that_fails_after_recording_loses_nothing_on_the_retry(setup: dict[str, Any]) -> None:
    intake, _ddb, sqs = _counted(setup)
    sqs.fail["send_message"] = 1  # recorded, then the send fails (or the process dies before it)
    raw, headers = signed(incoming(setup["account"], 12, 91, 6002, "Vocês entregam no sábado?"), SECRET)
    with pytest.raises(ConnectionError):
        intake.handle(raw, headers)  # the handler answers 500 and Chatwoot retries
    assert _queued(setup) == []
    retried = intake.handle(raw, headers)
    assert retried.body["status"] == "duplicate"
    jobs = _queued(setup)
    assert [(j.message_id, j.content) for j in jobs] == [(6002, "Vocês entregam no sábado?")]


def test_a_late_repeat_carries_the_original_turn_so_it_is_never_answered_twice(setup: dict[str, Any]) -> None:
    intake, _ddb, sqs = _counted(setup)
    raw, headers = signed(incoming(setup["account"], 12, 92, 6003, "oi"), SECRET)
    assert intake.handle(raw, headers).body["status"] == "queued"
    intake.clock = lambda: time.time() + 60  # a minute later, through the other webhook (another delivery id)
    raw2, headers2 = signed(incoming(setup["account"], 12, 92, 6003, "oi"), SECRET)
    assert intake.handle(raw2, headers2).body["status"] == "duplicate"
    first, again = sqs.sent
    # What is sent again is the stored job, not a new one: past the queue's 5-minute deduplication the worker still
    # sees a turn it has answered (same turn key), never a new turn.
    assert again.turn_key == first.turn_key and again.received_at_ms == first.received_at_ms


# ---------------------------------------------------------------------------- attachments and account webhooks
def _moved(name: str, account: int, message_id: int) -> dict[str, Any]:
    payload = load(name)
    payload["account"]["id"] = account
    payload["conversation"]["account"]["id"] = account
    payload["id"] = message_id
    return payload


def test_a_voice_note_and_a_photo_are_queued_with_their_attachments_metadata_only(setup: dict[str, Any]) -> None:
    voice = _moved("03_message_created_incoming_whatsapp_audio_v4.16_code_derived.json", setup["account"], 6101)
    photo = _moved("04_message_created_incoming_whatsapp_image_v4.16_code_derived.json", setup["account"], 6102)
    for payload in (voice, photo):
        assert classify(payload).action == "enqueue"
        raw, headers = signed(payload, SECRET)
        assert setup["intake"].handle(raw, headers).body["status"] == "queued"
    jobs = {job.message_id: job for job in _queued(setup)}
    audio, image = jobs[6101].attachments[0], jobs[6102].attachments[0]
    assert (jobs[6101].content, audio.file_type, audio.file_size) == ("", "audio", 18342)
    assert audio.transcribed_text == "Oi, vocês têm protetor solar infantil? Quanto custa?"
    assert audio.data_url and audio.data_url.endswith("/audio.ogg")
    assert (jobs[6102].content, image.file_type, image.transcribed_text) == ("Tem esse em outra cor?", "image", None)
    assert jobs[6101].identified  # a WhatsApp contact has a phone number
    # The history shows Chatwoot's transcript as the customer's words, and a mark for the photo.
    turns = setup["history"].turns(conversation_pk(setup["tenant_id"], setup["account"], 431))
    assert [t.content for t in turns] == ["Oi, vocês têm protetor solar infantil? Quanto custa?",
                                          "Tem esse em outra cor?\n[image]"]


def test_a_message_without_text_or_attachments_is_still_ignored() -> None:
    payload = load(INCOMING)
    payload.update(content=None, attachments=[])
    assert classify(payload).reason == "no text content"
    payload["attachments"] = [{"file_type": "sticker", "data_url": None}]
    assert classify(payload).action == "enqueue"


def test_the_echo_of_the_bots_own_reply_through_an_account_webhook_is_not_a_takeover(setup: dict[str, Any]) -> None:
    pk = conversation_pk(setup["tenant_id"], setup["account"], 90)
    history: HistoryStore = setup["history"]
    # The worker posted message 777001; Chatwoot echoes it as an outgoing message from the token's agent.
    history.record_posted(pk, 777001)
    raw, headers = signed(agent_message(setup["account"], 12, 90, 777001, "Temos sim!"), SECRET)
    assert setup["intake"].handle(raw, headers).body == {"status": "ignored", "reason": "bot echo (account webhook)"}
    # An echo that overtakes the post's answer: its text was recorded before posting.
    history.expect_echo(pk, "Vou chamar um atendente.")
    raw, headers = signed(agent_message(setup["account"], 12, 90, 777002, "Vou chamar um atendente."), SECRET)
    assert setup["intake"].handle(raw, headers).body["reason"] == "bot echo (account webhook)"
    assert not history.state(pk).human_takeover
    # A human's own reply is a takeover; resolving the conversation ends it.
    raw, headers = signed(agent_message(setup["account"], 12, 90, 777003, "Oi, aqui é a Bruna."), SECRET)
    assert setup["intake"].handle(raw, headers).body == {"status": "noted", "reason": "a human agent replied"}
    assert history.state(pk).human_takeover
    raw, headers = signed(status_changed(setup["account"], 12, 90, "resolved"), SECRET)
    assert setup["intake"].handle(raw, headers).body["status"] == "noted"
    assert not history.state(pk).human_takeover
    assert _queued(setup) == []


def test_a_delivery_signed_with_the_previous_secret_costs_no_extra_round_trip(setup: dict[str, Any]) -> None:
    """Secret rotation (issue 16): the previous secret and the time of the change come with the cached credentials,
    so a delivery signed with it is checked without another read; after the window it is refused."""
    from chatwoot_ai.config.cache import parse_document
    from chatwoot_ai.config.documents import merge_credentials

    changed_at = time.time()
    stored = merge_credentials({"chatwoot_webhook_secret": SECRET}, {"chatwoot_webhook_secret": "novo-segredo-2"},
                               now=changed_at)
    setup["configs"].creds[setup["tenant_id"]] = parse_document("credentials", stored)
    intake, ddb, sqs = _counted(setup)
    raw, headers = signed(incoming(setup["account"], 12, 91, 6101, "oi"), SECRET)
    assert intake.handle(raw, headers).body["status"] == "queued"
    assert (ddb.calls, sqs.calls) == (["transact_write_items"], ["send_message"])
    later = changed_at + intake.settings.secret_overlap_s + 5
    intake.clock = lambda: later
    raw, headers = signed(incoming(setup["account"], 12, 91, 6102, "oi"), SECRET, timestamp=int(later))
    with pytest.raises(ApiError) as refused:
        intake.handle(raw, headers)
    assert refused.value.status == 401 and ddb.calls == ["transact_write_items"]
    raw, headers = signed(incoming(setup["account"], 12, 91, 6103, "oi"), "novo-segredo-2", timestamp=int(later))
    assert intake.handle(raw, headers).body["status"] == "queued"


@pytest.mark.parametrize(("channel", "vouched", "expected"), [
    ("Channel::Whatsapp", False, ("+5511987654321", None)),
    ("Channel::WebWidget", False, (None, None)),  # typed by the visitor: nobody vouches for it
    ("Channel::WebWidget", True, ("+5511987654321", "maria.silva@example.com.br")),
])
def test_the_job_carries_the_contact_only_when_someone_vouches_for_it(
        setup: dict[str, Any], channel: str, vouched: bool, expected: tuple[str | None, str | None]) -> None:
    payload = incoming(setup["account"], 12, 92, 6200 + len(_queued(setup)) + int(vouched) * 7 + len(channel),
                       "Qual o status do pedido S00001?")
    payload["conversation"]["channel"] = channel
    payload["conversation"]["contact_inbox"]["hmac_verified"] = vouched
    if channel == "Channel::WebWidget":
        payload["sender"]["email"] = "maria.silva@example.com.br"
    raw, headers = signed(payload, SECRET)
    assert setup["intake"].handle(raw, headers).body["status"] == "queued"
    job = _queued(setup)[-1]
    assert job.contact_id == 905 and (job.contact_phone, job.contact_email) == expected
