"""The Chatwoot client against the Chatwoot stub: the contract's requests, retries with backoff, never twice;
and the formatting/handoff rules the worker applies."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from support.webhook_fixtures import create_pipeline_resources

from chatwoot_ai.chatwoot import ChatwootClient, ChatwootError, ReplyLedger, send_once
from chatwoot_ai.conversation.handoff import requested_by_keywords
from chatwoot_ai.conversation.prompts import apply_format, channel_profile, fill, format_reply, split_message
from devtools.doubles import ChatwootStub


@pytest.fixture(scope="module")
def stub() -> Iterator[ChatwootStub]:
    with ChatwootStub() as server:
        yield server


@pytest.fixture
def client(stub: ChatwootStub) -> Iterator[ChatwootClient]:
    stub.reset()
    delays: list[float] = []
    c = ChatwootClient(stub.url, "tok", max_attempts=4, backoff_s=0.01, sleep=delays.append)
    c.delays = delays  # type: ignore[attr-defined]
    yield c
    c.close()


def test_reply_note_and_toggle_follow_the_contract(client: ChatwootClient, stub: ChatwootStub) -> None:
    assert client.send_message(3, 431, "Olá!")["content"] == "Olá!"
    client.private_note(3, 431, "motivo")
    client.toggle_status(3, 431, "open")
    paths = [(c.path, c.body) for c in stub.calls]
    assert paths == [
        ("/api/v1/accounts/3/conversations/431/messages",
         {"content": "Olá!", "message_type": "outgoing", "private": False}),
        ("/api/v1/accounts/3/conversations/431/messages",
         {"content": "motivo", "message_type": "outgoing", "private": True}),
        ("/api/v1/accounts/3/conversations/431/toggle_status", {"status": "open"}),
    ]
    assert all(c.headers["api_access_token"] == "tok" for c in stub.calls)


def test_5xx_is_retried_with_growing_backoff(client: ChatwootClient, stub: ChatwootStub) -> None:
    stub.fail_next = 2
    client.send_message(3, 1, "oi")
    assert [c.status for c in stub.calls] == [500, 500, 200]
    assert len(stub.replies()) == 1
    delays = client.delays  # type: ignore[attr-defined]
    assert len(delays) == 2 and delays[1] > delays[0]


def test_429_is_retried_and_4xx_is_not(client: ChatwootClient, stub: ChatwootStub) -> None:
    stub.fail_next, stub.fail_status = 1, 429
    client.send_message(3, 1, "oi")
    assert [c.status for c in stub.calls] == [429, 200]
    stub.reset()
    stub.fail_next, stub.fail_status = 3, 404
    with pytest.raises(ChatwootError) as caught:
        client.send_message(3, 1, "oi")
    assert caught.value.status == 404 and len(stub.calls) == 1
    stub.fail_status = 500


def test_gives_up_after_max_attempts(client: ChatwootClient, stub: ChatwootStub) -> None:
    stub.fail_next = 10
    with pytest.raises(ChatwootError, match="after 4 attempts"):
        client.send_message(3, 1, "oi")
    assert len(stub.calls) == 4
    stub.fail_next = 0


def test_connection_refused_is_retried_but_a_read_timeout_on_a_reply_is_not(stub: ChatwootStub) -> None:
    delays: list[float] = []
    down = ChatwootClient("http://127.0.0.1:9", "tok", max_attempts=3, backoff_s=0.01, sleep=delays.append)
    with pytest.raises(ChatwootError) as caught:
        down.send_message(3, 1, "oi")
    assert len(delays) == 2 and not caught.value.maybe_delivered
    stub.reset()
    stub.latency_s = 0.5
    slow = ChatwootClient(stub.url, "tok", http=httpx.Client(timeout=0.1), sleep=delays.append)
    with pytest.raises(ChatwootError) as caught:
        slow.send_message(3, 1, "oi")
    assert caught.value.maybe_delivered
    stub.latency_s = 0
    assert stub.wait_for(lambda: len(stub.calls) == 1, timeout=3)
    assert len(stub.calls) == 1  # one attempt only: a second could be a duplicate message


@pytest.fixture
def ledger(moto_endpoint: str) -> ReplyLedger:
    names = create_pipeline_resources(moto_endpoint, "l" + uuid.uuid4().hex[:8])
    table = boto3.resource("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1").Table(
        names["history_table"])
    return ReplyLedger(table)


def test_a_reply_is_sent_once_however_often_the_job_runs(client: ChatwootClient, stub: ChatwootStub,
                                                         ledger: ReplyLedger) -> None:
    def send() -> dict[str, Any]:
        return client.send_message(3, 5, "Resposta única")

    assert send_once(ledger, "conv#t#3#5", 90112, "reply", send) is True
    assert send_once(ledger, "conv#t#3#5", 90112, "reply", send) is False
    assert stub.replies(5) == ["Resposta única"]
    assert ledger.status("conv#t#3#5", 90112, "reply") == "sent"


def test_a_definite_failure_frees_the_claim_for_the_retry(client: ChatwootClient, stub: ChatwootStub,
                                                          ledger: ReplyLedger) -> None:
    stub.fail_next = 4
    with pytest.raises(ChatwootError):
        send_once(ledger, "conv#t#3#6", 1, "reply", lambda: client.send_message(3, 6, "oi"))
    assert ledger.status("conv#t#3#6", 1, "reply") == "failed"
    assert send_once(ledger, "conv#t#3#6", 1, "reply", lambda: client.send_message(3, 6, "oi")) is True
    assert stub.replies(6) == ["oi"]


# ---------------------------------------------------------------------------- format and handoff rules
def test_channel_rules_are_enforced_on_the_reply() -> None:
    whatsapp = channel_profile("whatsapp")
    text = "## Oferta\n**Tênis Azul** por R$ 299,90 😊 [ver](https://loja.example/t)"
    assert apply_format(text, whatsapp, "moderate") == "Oferta\n*Tênis Azul* por R$ 299,90 😊 ver: https://loja.example/t"
    email = channel_profile("email")
    assert apply_format(text, email, "moderate") == "Oferta\nTênis Azul por R$ 299,90 ver: https://loja.example/t"
    short = channel_profile("instagram", {"instagram": {"max_length": 40}})
    # A reply longer than a message is split at sentence ends, never cut.
    assert format_reply("Temos sim. O tênis azul custa R$ 299,90. Chega em dois dias.", short, "none") == \
        ["Temos sim. O tênis azul custa R$ 299,90.", "Chega em dois dias."]
    assert format_reply("Temos sim, claro.\n\nCusta R$ 299,90.", short, "none") == \
        ["Temos sim, claro.\n\nCusta R$ 299,90."]


def test_long_replies_are_split_at_paragraphs_then_sentences_within_the_channels_limit() -> None:
    sentence = "O protetor solar FPS 50 deve ser reaplicado a cada duas horas durante a exposição ao sol. "
    paragraphs = [(sentence * 6).strip() for _ in range(12)]
    text = "\n\n".join(paragraphs)
    for channel, limit in (("whatsapp", 4096), ("instagram", 1000)):
        profile = channel_profile(channel, {channel: {"max_length": 10_000}})  # the channel's hard limit wins
        parts = split_message(text, limit)
        assert format_reply(text, profile, "none") == parts
        assert len(parts) > 1 and all(len(p) <= limit for p in parts)
        assert all(p.endswith(".") for p in parts)  # never half a sentence
        assert " ".join(" ".join(parts).split()) == " ".join(text.split())  # nothing lost
    long_one = "palavra " * 200
    assert all(len(p) <= 300 for p in split_message(long_one, 300))
    assert channel_profile("fax")["name"] == "fax" and channel_profile("fax")["max_length"] == 1500


def test_placeholders_fill_only_known_names_and_keep_customer_braces() -> None:
    assert fill("Olá {name}, {{json}} {unknown}", {"name": "Ana"}) == "Olá Ana, {json} {unknown}"


@pytest.mark.parametrize(("text", "wanted"), [
    ("Quero falar com um ATENDÊNTE", True),
    ("preciso de um humano aqui", True),
    ("I want to talk to a human", True),
    ("meu atendimento foi ótimo", False),
    ("humanos são legais? quero um tênis", False),
])
def test_handoff_keywords_match_whole_words_without_accents(text: str, wanted: bool) -> None:
    assert (requested_by_keywords([text], ["atendente", "humano"]) is not None) is wanted
