"""The worker's pipeline for the moments of issue 15, without an LLM (answers from retrieval alone) and with a clock:
messages that are only attachments, the greeting once, a handoff out of business hours, the bot's own posts recorded
for echo detection, and a human takeover that ends when idle."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

import boto3
import pytest
from pydantic import SecretStr
from support.webhook_fixtures import FakeConfigs, FakeSearch, create_pipeline_resources

from chatwoot_ai.chatwoot import ChatwootClient, ChatwootError, ReplyLedger
from chatwoot_ai.conversation.crew import CrewFactory
from chatwoot_ai.conversation.history import HistoryStore, conversation_pk
from chatwoot_ai.conversation.pipeline import ConversationPipeline, PipelineSettings
from chatwoot_ai.conversation.queue_job import Attachment, ConversationJob, turn_text, unread_attachments
from chatwoot_ai.conversation.retrieval import Retriever
from chatwoot_ai.models import Credentials, TenantConfig
from devtools.doubles import ChatwootStub

PRODUCT = "Protetor solar infantil FPS 50, 120 ml, R$ 59,90"


class Clock:
    def __init__(self, iso: str) -> None:
        self.now = datetime.fromisoformat(iso).timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(moto_endpoint: str, chatwoot: ChatwootStub) -> dict[str, Any]:
    chatwoot.reset()
    names = create_pipeline_resources(moto_endpoint, "m" + uuid.uuid4().hex[:8])
    table = boto3.resource("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1").Table(
        names["history_table"])
    tenant = "loja_" + uuid.uuid4().hex[:6]
    configs = FakeConfigs()
    configs.creds[tenant] = Credentials(chatwoot_api_access_token=SecretStr("tok"))
    clock = Clock("2026-12-01T13:00:00+00:00")  # Tuesday 10:00 in São Paulo
    search = FakeSearch({tenant: {"products": [PRODUCT]}})
    pipeline = ConversationPipeline(
        configs, HistoryStore(table), ReplyLedger(table),
        CrewFactory(lambda t: Retriever(t, search), specialist_timeout_s=5),
        lambda base_url, token: ChatwootClient(base_url, token, backoff_s=0.01),
        PipelineSettings(debounce_s=0.05, debounce_max_s=1), clock=clock)
    world = {"pipeline": pipeline, "history": pipeline.history, "configs": configs, "tenant": tenant,
             "chatwoot": chatwoot, "clock": clock}
    configure(world)
    return world


def configure(world: dict[str, Any], **extra: Any) -> None:
    world["configs"].configs[world["tenant"]] = TenantConfig.model_validate({
        "company": {"name": "Loja Sol", "language": "pt-BR", "timezone": "America/Sao_Paulo"},
        "enabled_collections": ["products"], "chatwoot": {"base_url": world["chatwoot"].url},
        "handoff": {"keywords": ["atendente"], "message": "Vou chamar um atendente."}, **extra})


_ids = iter(range(50_000, 10**9))


def says(world: dict[str, Any], conversation_id: int, text: str = "", *attachments: Attachment,
         status: str = "open") -> ConversationJob:
    job = ConversationJob(tenant_id=world["tenant"], channel="whatsapp", account_id=3, inbox_id=12,
                          conversation_id=conversation_id, message_id=next(_ids), content=text,
                          conversation_status=status, received_at_ms=int(time.time() * 1000),
                          attachments=list(attachments))
    pk = conversation_pk(world["tenant"], 3, conversation_id)
    world["history"].add_turn(pk, "customer", turn_text(job), job.message_id, job.received_at_ms,
                              unread_attachments(job))
    return job


def test_a_sticker_alone_gets_a_short_reply_and_optionally_a_human(world: dict[str, Any]) -> None:
    stub = world["chatwoot"]
    assert world["pipeline"].process(says(world, 1, "", Attachment(file_type="sticker"))) == \
        "answered:attachment_notice"
    assert stub.replies(1) == ["Recebi sua figurinha, mas ainda não consigo abrir esse tipo de mensagem. "
                               "Pode me escrever em texto o que você precisa?"]
    configure(world, handoff={"message": "Vou chamar um atendente.", "on_unreadable_attachment": True})
    assert world["pipeline"].process(says(world, 2, "", Attachment(file_type="video"))) == "handoff:attachment"
    assert stub.replies(2) == ["Recebi seu vídeo, mas ainda não consigo abrir esse tipo de mensagem. Pode me "
                               "escrever em texto o que você precisa?", "Vou chamar um atendente."]
    assert "[video]" in stub.successful("note", 2)[0].body["content"]
    assert len(stub.successful("toggle_status", 2)) == 1


def test_a_transcribed_voice_note_is_answered_like_text_and_noted_for_agents(world: dict[str, Any]) -> None:
    stub = world["chatwoot"]
    voice = Attachment(file_type="audio", data_url=stub.url + "/x.ogg",
                       transcribed_text="Vocês têm protetor solar infantil?")
    job = says(world, 3, "", voice)
    assert world["pipeline"].process(job) == "answered:1"
    assert PRODUCT in stub.replies(3)[0]
    assert stub.successful("note", 3)[0].body["content"] == ("🎙️ Transcrição do áudio do cliente:\n"
                                                             "> Vocês têm protetor solar infantil?")
    assert world["pipeline"].process(job) == "skipped:answered"  # redelivery: nothing twice
    assert len(stub.replies(3)) == 1 and len(stub.successful("note", 3)) == 1


def test_the_greeting_comes_once_on_the_first_turn(world: dict[str, Any]) -> None:
    configure(world, assistant={"name": "Ana", "greeting": "Olá! Sou a Ana, da Loja Sol. 😊"})
    stub = world["chatwoot"]
    assert world["pipeline"].process(says(world, 4, "Tem protetor solar infantil?")) == "answered:1"
    assert world["pipeline"].process(says(world, 4, "E protetor solar infantil em spray?")) == "answered:1"
    replies = stub.replies(4)
    assert replies[0] == "Olá! Sou a Ana, da Loja Sol. 😊" and len(replies) == 3
    assert replies.count("Olá! Sou a Ana, da Loja Sol. 😊") == 1


def test_a_handoff_out_of_hours_says_when_the_team_is_back(world: dict[str, Any]) -> None:
    configure(world, business_hours={"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00",
                                     "holidays": ["2026-12-25"]})
    stub, clock = world["chatwoot"], world["clock"]
    clock.now = datetime.fromisoformat("2026-12-01T20:59:00+00:00").timestamp()  # 17:59: still open
    assert world["pipeline"].process(says(world, 5, "quero falar com atendente")) == "handoff:customer_request"
    assert stub.replies(5) == ["Vou chamar um atendente."]
    clock.now = datetime.fromisoformat("2026-12-25T14:00:00+00:00").timestamp()  # Christmas, a Friday
    assert world["pipeline"].process(says(world, 6, "quero falar com atendente")) == "handoff:customer_request"
    assert stub.replies(6) == ["Vou chamar um atendente. Nossa equipe está fora do horário de atendimento agora e "
                               "volta segunda-feira (28/12) às 09:00."]
    assert "fora do horário de atendimento" in stub.successful("note", 6)[0].body["content"]
    # Out of hours the bot still answers what it can.
    assert world["pipeline"].process(says(world, 7, "Tem protetor solar infantil?")) == "answered:1"


def test_the_bots_posts_are_recorded_as_echoes_and_an_idle_takeover_ends(world: dict[str, Any]) -> None:
    configure(world, handoff={"message": "Vou chamar um atendente.", "takeover_idle_minutes": 30})
    stub, history, clock = world["chatwoot"], world["history"], world["clock"]
    clock.now = time.time()  # the history stamps the takeover with the real time
    pk = conversation_pk(world["tenant"], 3, 8)
    assert world["pipeline"].process(says(world, 8, "Tem protetor solar infantil?")) == "answered:1"
    posted = stub.successful("message", 8)[0]
    assert history.is_echo(pk, posted.message_id, "something else")
    assert history.is_echo(pk, 1, posted.body["content"])  # by text, while the id is not known yet
    assert not history.is_echo(pk, 1, "Oi, aqui é a Bruna")
    history.set_takeover(pk, True, "a human agent replied")
    assert world["pipeline"].process(says(world, 8, "Oi?")) == "skipped:human"
    clock.now = time.time() + 31 * 60  # half an hour without a human word
    assert world["pipeline"].process(says(world, 8, "Tem protetor solar infantil?")) == "answered:1"
    assert not history.state(pk).human_takeover


def test_a_burst_reads_the_attachments_of_its_later_messages_too(world: dict[str, Any]) -> None:
    stub = world["chatwoot"]
    first = says(world, 9, "Tem protetor solar infantil?")
    says(world, 9, "", Attachment(file_type="sticker"))  # its own job will find the burst answered
    assert world["pipeline"].process(first) == "answered:2"
    replies = stub.replies(9)
    assert replies[0].startswith("Recebi sua figurinha") and PRODUCT in replies[1]
    turns = world["history"].turns(conversation_pk(world["tenant"], 3, 9))
    assert [t.content for t in turns][:2] == ["Tem protetor solar infantil?", ""]


def test_a_notice_chatwoot_failed_to_take_is_sent_on_the_retry(world: dict[str, Any]) -> None:
    stub = world["chatwoot"]
    job = says(world, 10, "", Attachment(file_type="sticker"))
    stub.fail_next = 4  # every attempt of the notice: the job fails, SQS retries it
    with pytest.raises(ChatwootError):
        world["pipeline"].process(job)
    assert world["pipeline"].process(job) == "answered:attachment_notice"
    assert [r[:22] for r in stub.replies(10)] == ["Recebi sua figurinha, "]
