"""Attachments (downloads bounded to the tenant's Chatwoot, transcription and vision through the openai SDK against
the LLM stub), business hours in the tenant's time zone, and the Hub's per-channel crews."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from chatwoot_ai.conversation.attachments import AttachmentError, AttachmentReader
from chatwoot_ai.conversation.crew import CrewFactory
from chatwoot_ai.conversation.hours import is_open, next_opening, out_of_hours
from chatwoot_ai.conversation.queue_job import Attachment
from chatwoot_ai.models import BusinessHours, TenantConfig
from devtools.doubles import ChatwootStub, LlmStub

OGG = b"OggS" + b"\x00" * 2000
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 500


@pytest.fixture
def stubs(llm: LlmStub, chatwoot: ChatwootStub) -> Iterator[tuple[LlmStub, ChatwootStub]]:
    llm.reset()
    chatwoot.reset()
    yield llm, chatwoot


def config(chatwoot: ChatwootStub, llm: LlmStub, **llm_extra: Any) -> TenantConfig:
    return TenantConfig.model_validate({
        "company": {"name": "Loja Azul", "language": "pt-BR"}, "chatwoot": {"base_url": chatwoot.url},
        "llm": {"model": "openai/stub", "base_url": llm.base_url, "timeout_s": 5, **llm_extra}})


# ---------------------------------------------------------------------------- attachments
def test_a_voice_note_is_downloaded_through_chatwoots_redirect_and_transcribed(stubs: Any) -> None:
    llm, chatwoot = stubs
    llm.transcript = "Oi, vocês entregam em Campinas?"
    url = chatwoot.serve("audio.ogg", OGG, "audio/ogg")
    understood = AttachmentReader().understand("", [Attachment(file_type="audio", data_url=url)],
                                               config(chatwoot, llm, transcription_model="openai/whisper-1"),
                                               "cw-token", "sk-test")
    assert understood.text == "Oi, vocês entregam em Campinas?"
    assert understood.transcripts == ["Oi, vocês entregam em Campinas?"] and not understood.notices
    assert llm.transcriptions == [("whisper-1", "audio.ogg", len(OGG))]
    # The redirect and the file, both on the tenant's Chatwoot host, with its token.
    assert [(d.status, d.headers.get("api_access_token")) for d in chatwoot.downloads] == [(302, "cw-token"),
                                                                                         (200, "cw-token")]


def test_chatwoots_own_transcript_needs_no_download_and_no_model(stubs: Any) -> None:
    llm, chatwoot = stubs
    item = Attachment(file_type="audio", data_url=chatwoot.serve("a.ogg", OGG, "audio/ogg"),
                      transcribed_text="Quero trocar o tamanho")
    understood = AttachmentReader().understand("", [item], config(chatwoot, llm, transcription_model="whisper-1"),
                                               "t", None)
    assert understood.text == "Quero trocar o tamanho" and not chatwoot.downloads and not llm.transcriptions


def test_without_a_transcription_model_a_voice_note_gets_a_friendly_message(stubs: Any) -> None:
    llm, chatwoot = stubs
    item = Attachment(file_type="audio", data_url=chatwoot.serve("a.ogg", OGG, "audio/ogg"))
    understood = AttachmentReader().understand("", [item], config(chatwoot, llm), "t", None)
    assert understood.text == "" and understood.unreadable == ["audio"]
    assert understood.notices == ["Recebi seu áudio, mas não consegui ouvi-lo. Pode me escrever sua mensagem?"]


def test_an_image_is_described_by_the_vision_model_with_its_caption(stubs: Any) -> None:
    llm, chatwoot = stubs
    llm.on("<image>", answer="Um tênis azul com a sola descolando.")
    item = Attachment(file_type="image", data_url=chatwoot.serve("photo.jpg", JPEG, "image/jpeg"))
    understood = AttachmentReader().understand("Chegou assim", [item],
                                               config(chatwoot, llm, vision_model="openai/gpt-4o-mini"), "t", "k")
    assert understood.text == "Chegou assim\n[Imagem enviada pelo cliente: Um tênis azul com a sola descolando.]"
    request = llm.requests[-1]
    assert request["model"] == "gpt-4o-mini"
    parts = request["messages"][0]["content"]
    assert "Chegou assim" in parts[0]["text"]
    assert parts[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")


def test_without_vision_an_image_gets_a_friendly_message_and_other_kinds_a_short_reply(stubs: Any) -> None:
    llm, chatwoot = stubs
    items = [Attachment(file_type="image", data_url=chatwoot.serve("p.jpg", JPEG, "image/jpeg")),
             Attachment(file_type="sticker"), Attachment(file_type="location", fallback_title="Rua X"),
             Attachment(file_type="ig_reel")]
    understood = AttachmentReader().understand("tem em 40?", items, config(chatwoot, llm), "t", None)
    assert understood.text == "tem em 40?"
    assert understood.notices == [
        "Recebi sua imagem, mas ainda não consigo ver imagens. Pode me descrever em texto o que precisa?",
        "Recebi sua figurinha e sua localização e sua mensagem, mas ainda não consigo abrir esse tipo de mensagem. "
        "Pode me escrever em texto o que você precisa?"]
    assert not chatwoot.downloads and not llm.requests


def test_downloads_only_from_the_tenants_chatwoot_or_its_storage(stubs: Any) -> None:
    llm, chatwoot = stubs
    cfg = config(chatwoot, llm, transcription_model="whisper-1")
    reader = AttachmentReader()
    with pytest.raises(AttachmentError, match="not on the tenant's Chatwoot host"):
        reader.fetch("http://169.254.169.254/latest/meta-data/", cfg, "t")
    with pytest.raises(AttachmentError, match="not on the tenant's Chatwoot host"):
        reader.fetch(chatwoot.url.replace("127.0.0.1", "localhost") + "/x", cfg, "t")
    # Chatwoot's redirect to a host that is not storage (http, internal): refused, the token never leaves.
    evil = chatwoot.serve("a.ogg", OGG, "audio/ogg", redirect_to="http://10.0.0.5/steal")
    with pytest.raises(AttachmentError, match="not the tenant's storage"):
        reader.fetch(evil, cfg, "t")
    s3 = chatwoot.serve("a.ogg", OGG, "audio/ogg", redirect_to="http://bucket.s3.amazonaws.com/a.ogg")
    with pytest.raises(AttachmentError, match="not the tenant's storage"):  # storage only over https
        reader.fetch(s3, cfg, "t")
    # Bounded in size: the declared length, or the bytes read.
    big = chatwoot.serve("big.ogg", b"x" * 5000, "audio/ogg")
    with pytest.raises(AttachmentError, match="over 4096 bytes"):
        AttachmentReader(max_bytes=4096).fetch(big, cfg, "t")
    assert AttachmentReader(max_bytes=5000).fetch(big, cfg, "t") == b"x" * 5000


def test_a_failed_download_or_model_still_gets_a_reply_never_silence(stubs: Any) -> None:
    llm, chatwoot = stubs
    gone = Attachment(file_type="audio", data_url=chatwoot.url + "/rails/active_storage/blobs/redirect/nope/a.ogg")
    understood = AttachmentReader().understand("", [gone], config(chatwoot, llm, transcription_model="w"), "t", None)
    assert understood.text == "" and understood.notices and understood.unreadable == ["audio"]
    llm.fail_next = 5
    ok = Attachment(file_type="audio", data_url=chatwoot.serve("a.ogg", OGG, "audio/ogg"))
    understood = AttachmentReader().understand("", [ok], config(chatwoot, llm, transcription_model="w"), "t", None)
    assert understood.text == "" and understood.notices


# ---------------------------------------------------------------------------- business hours
WEEKDAYS = BusinessHours(days=[0, 1, 2, 3, 4], start="09:00", end="18:00", holidays=["2026-12-25"],
                         closed_message="Atendemos de segunda a sexta, das 9h às 18h.")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_just_before_closing_is_open_and_closing_time_is_not() -> None:
    sp = "America/Sao_Paulo"  # UTC-3
    assert is_open(WEEKDAYS, sp, at("2026-12-01T20:59:00+00:00"))  # Tuesday 17:59 in São Paulo
    assert not is_open(WEEKDAYS, sp, at("2026-12-01T21:00:00+00:00"))  # 18:00
    assert out_of_hours(WEEKDAYS, sp, "pt-BR", at("2026-12-01T20:59:59+00:00")) is None
    customer, note = out_of_hours(WEEKDAYS, sp, "pt-BR", at("2026-12-01T21:00:00+00:00")) or ("", "")
    assert customer == ("Atendemos de segunda a sexta, das 9h às 18h. Nossa equipe está fora do horário de "
                        "atendimento agora e volta amanhã às 09:00.")
    assert note == "Mensagem recebida fora do horário de atendimento; a equipe volta amanhã às 09:00."


def test_the_tenants_time_zone_not_utc() -> None:
    # 13:00 UTC is 10:00 in São Paulo (open) but 22:00 in Tokyo (closed, back tomorrow at 09:00 Tokyo time).
    now = at("2026-12-02T13:00:00+00:00")
    assert is_open(WEEKDAYS, "America/Sao_Paulo", now)
    assert not is_open(WEEKDAYS, "Asia/Tokyo", now)
    assert next_opening(WEEKDAYS, "Asia/Tokyo", now) == datetime.fromisoformat("2026-12-03T09:00:00+09:00")
    # Early morning: back today.
    assert "hoje às 09:00" in (out_of_hours(WEEKDAYS, "America/Sao_Paulo", "pt-BR",
                                            at("2026-12-02T10:30:00+00:00")) or ("",))[0]


def test_a_holiday_and_a_weekend_name_the_day() -> None:
    sp = "America/Sao_Paulo"
    christmas = at("2026-12-25T14:00:00+00:00")  # Friday 11:00, a holiday
    assert not is_open(WEEKDAYS, sp, christmas)
    customer, _note = out_of_hours(WEEKDAYS, sp, "pt-BR", christmas) or ("", "")
    assert customer.endswith("volta segunda-feira (28/12) às 09:00.")
    english = out_of_hours(WEEKDAYS, sp, "en", christmas)
    assert english is not None and english[0].endswith("back Monday (28/12) at 09:00.")


def test_split_shifts_and_saturday_mornings() -> None:
    hours = BusinessHours.model_validate({"periods": [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "12:00"},
                                                      {"days": [0, 1, 2, 3, 4], "start": "13:00", "end": "18:00"},
                                                      {"days": [5], "start": "09:00", "end": "13:00"}]})
    sp = "America/Sao_Paulo"
    assert not is_open(hours, sp, at("2026-12-01T15:30:00+00:00"))  # lunch, 12:30
    assert "hoje às 13:00" in (out_of_hours(hours, sp, "pt-BR", at("2026-12-01T15:30:00+00:00")) or ("",))[0]
    assert is_open(hours, sp, at("2026-12-05T14:00:00+00:00"))  # Saturday 11:00
    assert "segunda-feira (07/12) às 08:00" in (out_of_hours(hours, sp, "pt-BR",
                                                             at("2026-12-05T17:00:00+00:00")) or ("",))[0]


# ---------------------------------------------------------------------------- the Hub's per-channel crews
def test_each_channel_gets_its_own_crew_and_a_tenant_overrides_it() -> None:
    base = {"company": {"name": "Loja"}, "llm": {"model": "openai/x"},
            "odoo": {"url": "https://erp.example.com", "db": "d", "username": "u"}}
    factory = CrewFactory(lambda _t: None, mcp_available=lambda _c: True)  # type: ignore[arg-type, return-value]
    every = ["business_rules", "support_documents", "products", "odoo"]
    cfg = TenantConfig.model_validate(base)
    assert factory.plan(cfg, "whatsapp").specialists == every
    # An anonymous web-widget visitor gets no order lookups; once identified, it does.
    assert factory.plan(cfg, "web_widget", identified=False).specialists == every[:3]
    assert factory.plan(cfg, "web_widget", identified=True).specialists == every
    assert factory.plan(cfg, "whatsapp", identified=False).specialists == every
    email = factory.plan(cfg, "email")
    assert email.profile["max_length"] == 3000 and "sign-off" in email.profile["rules"]
    assert factory.plan(cfg, "whatsapp").profile["max_length"] == 700
    # The tenant's override: only business rules on Instagram.
    tenant = TenantConfig.model_validate({**base, "channels": {"instagram": {"specialists": ["business_rules"]}}})
    assert factory.plan(tenant, "instagram").specialists == ["business_rules"]
    assert factory.plan(tenant, "whatsapp").specialists == every
