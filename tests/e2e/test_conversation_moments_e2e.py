"""Every kind of message and moment on the local stack, over HTTP: a signed Chatwoot webhook → receiver → FIFO →
worker (its own process) → the Chatwoot stub. Voice notes (Chatwoot's transcript, or the file served behind
Chatwoot's ActiveStorage redirect and transcribed by the LLM stub), photos (vision model or a friendly message),
everything else (a short reply, a handoff where the tenant wants one), business hours in a time zone other than UTC,
the greeting on the first turn, per-channel crews, and an account webhook echoing the bot's own replies."""

from __future__ import annotations

import copy
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from support.webhook_fixtures import conversations_drained, deliver

from devtools import SHORT_DEBOUNCE
from devtools.chatwoot_payloads import (
    agent_message,
    attachment,
    incoming,
    load,
    signed,
    status_changed,
    with_attachments,
)
from devtools.doubles import ChatwootStub, LlmStub

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

INTENT = json.dumps({"intent": "product", "language": "pt-BR", "wants_human": False, "confidence": 0.9})
ANSWER = "Temos sim! Posso ajudar com mais alguma coisa?"
VOICE = "03_message_created_incoming_whatsapp_audio_v4.16_code_derived.json"
PHOTO = "04_message_created_incoming_whatsapp_image_v4.16_code_derived.json"
OGG = b"OggS" + bytes(3000)
JPEG = b"\xff\xd8\xff\xe0" + bytes(800)


@pytest.fixture(scope="module", autouse=True)
def full_crew(cloud: Any) -> Iterator[None]:
    """These tenants have an LLM but no collections: the economical plan would hand every question off ("vou
    verificar"), and what is tested here is what reaches the crew (a transcript, a photo's description, the hours),
    so the worker runs the full crew (CREW_ECONOMY=false) in this module. No test here sends a burst: the debounce
    (2 s a turn) would only wait, so it is short (its code path still runs)."""
    with cloud.environment_changed({"CREW_ECONOMY": "false", **SHORT_DEBOUNCE}, "ConversationWorkerFunction"):
        yield


@pytest.fixture(scope="module")
def llm() -> Iterator[LlmStub]:
    with LlmStub() as stub:
        stub.transcript = "Vocês entregam em Campinas no mesmo dia?"
        stub.on("Intention analyst", answer=INTENT)
        stub.on("specialist at", answer="- fato encontrado")
        stub.on("<image>", answer="Um tênis azul com a sola descolando.")
        stub.on("customer service assistant", answer=ANSWER)
        yield stub


def put(cloud: Any, path: str, body: dict[str, Any]) -> None:
    response = httpx.put(f"{cloud.url}{path}", json=body, headers={"X-Api-Key": cloud.admin_key}, timeout=30)
    assert response.status_code in (200, 201), response.text


def tenant(cloud: Any, llm: LlmStub, chatwoot: ChatwootStub, *, with_llm: bool = True,
           llm_extra: dict[str, Any] | None = None, **config: Any) -> dict[str, Any]:
    """A tenant whose inbox 12 is WhatsApp and inbox 13 e-mail."""
    tenant_id, account = "t_" + uuid.uuid4().hex[:10], 100_000 + secrets.randbelow(800_000)
    secret, token = secrets.token_urlsafe(16), "cw-" + secrets.token_urlsafe(12)
    document: dict[str, Any] = {
        "company": {"name": "Loja Sol", "language": "pt-BR"}, "enabled_collections": [],
        "chatwoot": {"base_url": chatwoot.url},
        "llm": {"model": "openai/stub-model", "base_url": llm.base_url, "timeout_s": 10, **(llm_extra or {})},
        "handoff": {"keywords": ["atendente"], "message": "Vou chamar um atendente."}, **config}
    if not with_llm:
        document.pop("llm")
    put(cloud, f"/configs/{tenant_id}/default/config", document)
    put(cloud, f"/configs/{tenant_id}/default/credentials", {"chatwoot_webhook_secret": secret,
                                                             "chatwoot_api_access_token": token, "llm_api_key": "sk"})
    put(cloud, "/mapping", {"mappings": [
        {"chatwoot_account_id": account, "chatwoot_inbox_id": 12, "tenant_id": tenant_id, "channel": "whatsapp"},
        {"chatwoot_account_id": account, "chatwoot_inbox_id": 13, "tenant_id": tenant_id, "channel": "email"}]})
    return {"id": tenant_id, "account": account, "secret": secret, "token": token}


_messages = iter(range(int(time.time()) % 1_000_000 * 100 + 50, 10**12))
_conversations = iter(range(5000 + secrets.randbelow(10**6), 10**9))


def post(cloud: Any, shop: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    raw, headers = signed(payload, shop["secret"])
    response = deliver(f"{cloud.url}/webhooks/chatwoot", raw, headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def say(cloud: Any, shop: dict[str, Any], conversation: int, text: str | None, *items: dict[str, Any],
        inbox: int = 12, status: str = "pending") -> dict[str, Any]:
    payload = incoming(shop["account"], inbox, conversation, next(_messages), text or "")
    payload["conversation"]["status"] = status
    if items or text is None:
        with_attachments(payload, *items, content=text)
    return post(cloud, shop, payload)


def fixture_message(name: str, shop: dict[str, Any], conversation: int, **attachment_changes: Any) -> dict[str, Any]:
    """Fixture 03 (voice note) or 04 (photo), moved to the tenant and a conversation."""
    payload = copy.deepcopy(load(name))
    message_id = next(_messages)
    payload.update(id=message_id)
    payload["account"]["id"] = payload["conversation"]["account"]["id"] = shop["account"]
    payload["conversation"]["id"] = conversation
    payload["attachments"][0].update(message_id=message_id, **attachment_changes)
    return payload


def wait_replies(chatwoot: ChatwootStub, conversation: int, count: int, kind: str = "message") -> list[str]:
    assert chatwoot.wait_for(lambda: len(chatwoot.successful(kind, conversation)) >= count, timeout=90), \
        [c.body for c in chatwoot.successful(conversation_id=conversation)]
    return [str(c.body.get("content")) for c in chatwoot.successful(kind, conversation)]


# ---------------------------------------------------------------------------- attachments
def test_voice_notes_and_photos_are_understood(cloud: Any, llm: LlmStub, chatwoot: ChatwootStub) -> None:
    shop = tenant(cloud, llm, chatwoot, llm_extra={"transcription_model": "openai/whisper-1",
                                                   "vision_model": "openai/gpt-4o-mini"})
    transcribed, untranscribed, photo = next(_conversations), next(_conversations), next(_conversations)
    # Chatwoot transcribed this one itself (fixture 03): no download, no transcription call.
    assert post(cloud, shop, fixture_message(VOICE, shop, transcribed))["status"] == "queued"
    # This one it did not: the worker fetches it through Chatwoot's redirect and transcribes it.
    audio_url = chatwoot.serve("audio.ogg", OGG, "audio/ogg")
    assert post(cloud, shop, fixture_message(VOICE, shop, untranscribed, transcribed_text=None,
                                             data_url=audio_url))["status"] == "queued"
    photo_url = chatwoot.serve("photo.jpg", JPEG, "image/jpeg")
    assert post(cloud, shop, fixture_message(PHOTO, shop, photo, data_url=photo_url))["status"] == "queued"

    assert wait_replies(chatwoot, transcribed, 1) == [ANSWER]
    assert wait_replies(chatwoot, transcribed, 1, "note") == [
        "🎙️ Transcrição do áudio do cliente:\n> Oi, vocês têm protetor solar infantil? Quanto custa?"]
    assert wait_replies(chatwoot, untranscribed, 1) == [ANSWER]
    assert wait_replies(chatwoot, untranscribed, 1, "note") == [
        "🎙️ Transcrição do áudio do cliente:\n> Vocês entregam em Campinas no mesmo dia?"]
    assert ("whisper-1", "audio.ogg", len(OGG)) in llm.transcriptions
    assert wait_replies(chatwoot, photo, 1) == [ANSWER]
    # What the crew was given: the transcripts as the customer's words, the photo as the vision model saw it.
    responses = [p for p in llm.prompts if "customer service assistant" in p]
    assert any("Oi, vocês têm protetor solar infantil? Quanto custa?" in p for p in responses)
    assert any("Vocês entregam em Campinas no mesmo dia?" in p for p in responses)
    assert any("Tem esse em outra cor?" in p and "Um tênis azul com a sola descolando." in p for p in responses)
    downloads = [(d.path.split("/")[-1], d.status, d.headers.get("api_access_token")) for d in chatwoot.downloads]
    assert ("audio.ogg", 302, shop["token"]) in downloads and ("audio.ogg", 200, shop["token"]) in downloads
    assert ("photo.jpg", 200, shop["token"]) in downloads
    assert not any(d.path.endswith("/audio.ogg") and "eyJfcmFpbHMi" in d.path for d in chatwoot.downloads), \
        "fixture 03's own data_url (transcribed by Chatwoot) must not be fetched"


def test_without_transcription_or_vision_and_for_every_other_kind_a_short_reply(
        cloud: Any, llm: LlmStub, chatwoot: ChatwootStub) -> None:
    shop = tenant(cloud, llm, chatwoot)
    cases = {
        "audio": "Recebi seu áudio, mas não consegui ouvi-lo. Pode me escrever sua mensagem?",
        "image": "Recebi sua imagem, mas ainda não consigo ver imagens. Pode me descrever em texto o que precisa?",
        "video": "Recebi seu vídeo, mas ainda não consigo abrir esse tipo de mensagem.",
        "file": "Recebi seu arquivo, mas ainda não consigo abrir esse tipo de mensagem.",
        "location": "Recebi sua localização, mas ainda não consigo abrir esse tipo de mensagem.",
        "contact": "Recebi o contato, mas ainda não consigo abrir esse tipo de mensagem.",
        "sticker": "Recebi sua figurinha, mas ainda não consigo abrir esse tipo de mensagem.",
        "ig_reel": "Recebi sua mensagem, mas ainda não consigo abrir esse tipo de mensagem.",
    }
    conversations = {kind: next(_conversations) for kind in cases}
    for kind, conversation in conversations.items():
        item = attachment(kind, chatwoot.serve(f"f.{kind}", b"x" * 100, "application/octet-stream"))
        assert say(cloud, shop, conversation, None, item)["status"] == "queued"
    # A data_url on another host is never fetched: the customer still hears back.
    foreign = next(_conversations)
    assert say(cloud, shop, foreign, None, attachment("audio", "http://169.254.169.254/latest/x.ogg"))[
        "status"] == "queued"
    # A photo with a caption and no vision model: the friendly message, and the caption is answered.
    captioned = next(_conversations)
    assert say(cloud, shop, captioned, "Tem esse tênis no 42?", attachment("image", chatwoot.url + "/p.jpg"))[
        "status"] == "queued"
    for kind, conversation in conversations.items():
        assert wait_replies(chatwoot, conversation, 1)[0].startswith(cases[kind]), kind
    assert wait_replies(chatwoot, foreign, 1) == [cases["audio"]]
    assert wait_replies(chatwoot, captioned, 2) == [cases["image"], ANSWER]
    assert not any(d.path.startswith("/latest") for d in chatwoot.downloads)
    assert not chatwoot.successful("toggle_status", conversations["sticker"])


def test_a_tenant_that_wants_it_hands_unreadable_messages_to_a_human(cloud: Any, llm: LlmStub,
                                                                      chatwoot: ChatwootStub) -> None:
    shop = tenant(cloud, llm, chatwoot, handoff={"message": "Vou chamar um atendente.",
                                                 "on_unreadable_attachment": True})
    conversation = next(_conversations)
    assert say(cloud, shop, conversation, None, attachment("video", chatwoot.url + "/v.mp4"))["status"] == "queued"
    assert wait_replies(chatwoot, conversation, 1, "toggle_status")
    assert chatwoot.replies(conversation) == [
        "Recebi seu vídeo, mas ainda não consigo abrir esse tipo de mensagem. Pode me escrever em texto o que você "
        "precisa?", "Vou chamar um atendente."]
    assert "[video]" in wait_replies(chatwoot, conversation, 1, "note")[0]


# ---------------------------------------------------------------------------- hours and greeting
def test_business_hours_in_the_tenants_time_zone(cloud: Any, llm: LlmStub, chatwoot: ChatwootStub) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    now = datetime.now(tokyo)
    if now.hour == 23 and now.minute >= 50:
        pytest.skip("too close to midnight in Tokyo to set 'just before closing'")
    every_day = [0, 1, 2, 3, 4, 5, 6]
    # A holiday today (in Tokyo, not in UTC): closed, back tomorrow at 09:00.
    holiday = tenant(cloud, llm, chatwoot, company={"name": "Loja Sol", "language": "pt-BR",
                                                    "timezone": "Asia/Tokyo"},
                     business_hours={"days": every_day, "start": "09:00", "end": "18:00",
                                     "holidays": [now.date().isoformat()]})
    # Closing in a few minutes: still open.
    closing = (now + timedelta(minutes=5)).strftime("%H:%M")
    open_now = tenant(cloud, llm, chatwoot, company={"name": "Loja Sol", "language": "pt-BR",
                                                     "timezone": "Asia/Tokyo"},
                      business_hours={"days": every_day, "start": "00:00", "end": closing})
    closed_conversation, open_conversation, answered = next(_conversations), next(_conversations), next(_conversations)
    assert say(cloud, holiday, closed_conversation, "Quero falar com um atendente")["status"] == "queued"
    assert say(cloud, open_now, open_conversation, "Quero falar com um atendente")["status"] == "queued"
    assert say(cloud, holiday, answered, "Vocês têm protetor solar?")["status"] == "queued"
    assert wait_replies(chatwoot, closed_conversation, 1) == [
        "Vou chamar um atendente. Nossa equipe está fora do horário de atendimento agora e volta amanhã às 09:00."]
    assert "fora do horário de atendimento" in wait_replies(chatwoot, closed_conversation, 1, "note")[0]
    assert wait_replies(chatwoot, open_conversation, 1) == ["Vou chamar um atendente."]
    assert "fora do horário" not in wait_replies(chatwoot, open_conversation, 1, "note")[0]
    assert wait_replies(chatwoot, answered, 1) == [ANSWER]  # out of hours the bot still answers what it can


def test_the_greeting_once_on_the_first_turn(cloud: Any, llm: LlmStub, chatwoot: ChatwootStub) -> None:
    shop = tenant(cloud, llm, chatwoot, assistant={"name": "Ana", "greeting": "Olá! Sou a Ana, da Loja Sol."})
    conversation = next(_conversations)
    assert say(cloud, shop, conversation, "Oi, tudo bem?")["status"] == "queued"
    assert wait_replies(chatwoot, conversation, 2) == ["Olá! Sou a Ana, da Loja Sol.", ANSWER]
    assert say(cloud, shop, conversation, "Vocês têm protetor solar?")["status"] == "queued"
    assert wait_replies(chatwoot, conversation, 3) == ["Olá! Sou a Ana, da Loja Sol.", ANSWER, ANSWER]


# ---------------------------------------------------------------------------- channels
def test_each_channel_gets_its_crew_and_the_tenant_overrides_it(cloud: Any, llm: LlmStub, chatwoot: ChatwootStub,
                                                                 admin_headers: dict[str, str]) -> None:
    shop = tenant(cloud, llm, chatwoot, enabled_collections=["business_rules", "products"],
                  channels={"whatsapp": {"specialists": ["business_rules"]}})
    token = secrets.token_urlsafe(12)
    put(cloud, f"/configs/{shop['id']}/default/credentials", {
        "chatwoot_webhook_secret": shop["secret"], "chatwoot_api_access_token": shop["token"], "llm_api_key": "sk",
        "vectorize_token": token})
    for collection, text in (("business_rules", "Trocas do protetor solar em até 30 dias com nota fiscal."),
                             ("products", "Protetor solar infantil FPS 50, R$ 59,90")):
        response = httpx.post(f"{cloud.url}/vectorize", headers={"Authorization": f"Bearer {token}"}, timeout=60,
                              json={"tenant_id": shop["id"], "collection": collection,
                                    "records": [{"id": "1", "text": text, "metadata": {}}]})
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        assert chatwoot.wait_for(lambda job_id=job_id: httpx.get(
            f"{cloud.url}/vectorize/jobs/{job_id}", headers=admin_headers, timeout=30).json()["status"] == "done",
            timeout=180, interval=0.3)
    whatsapp, email = next(_conversations), next(_conversations)
    assert say(cloud, shop, whatsapp, "Protetor solar infantil: posso trocar? (zap)")["status"] == "queued"
    assert say(cloud, shop, email, "Protetor solar infantil: posso trocar? (mail)", inbox=13)["status"] == "queued"
    wait_replies(chatwoot, whatsapp, 1)
    wait_replies(chatwoot, email, 1)
    zap = [p for p in llm.prompts if "(zap)" in p]
    mail = [p for p in llm.prompts if "(mail)" in p]
    # WhatsApp: the tenant left only the business-rules specialist; e-mail keeps channels.yaml's crew.
    assert any("Business rules specialist" in p for p in zap) and not any("Product specialist" in p for p in zap)
    assert any("Business rules specialist" in p for p in mail) and any("Product specialist" in p for p in mail)
    assert any("customer service assistant" in p and "complete e-mail reply" in p for p in mail)
    assert any("customer service assistant" in p and "Short chat messages" in p for p in zap)


# ---------------------------------------------------------------------------- account webhooks
def test_an_account_webhook_echo_of_the_bots_reply_is_not_a_human(cloud: Any, llm: LlmStub,
                                                                   chatwoot: ChatwootStub) -> None:
    shop = tenant(cloud, llm, chatwoot)
    conversation = next(_conversations)
    # An account webhook (no agent bot): the conversation is `open` all along.
    assert say(cloud, shop, conversation, "Vocês têm protetor solar?", status="open")["status"] == "queued"
    wait_replies(chatwoot, conversation, 1)
    posted = chatwoot.successful("message", conversation)[0]
    # Chatwoot echoes the bot's reply as an outgoing message from the agent whose token the bot uses.
    echo = agent_message(shop["account"], 12, conversation, posted.message_id or 0, posted.body["content"])
    assert post(cloud, shop, echo) == {"status": "ignored", "reason": "bot echo (account webhook)"}
    assert say(cloud, shop, conversation, "E em spray?", status="open")["status"] == "queued"
    assert len(wait_replies(chatwoot, conversation, 2)) == 2  # the bot still answers
    # A real human reply silences the bot until the conversation is resolved.
    human = agent_message(shop["account"], 12, conversation, next(_messages), "Oi, aqui é a Bruna!")
    assert post(cloud, shop, human)["status"] == "noted"
    assert say(cloud, shop, conversation, "Obrigada, Bruna", status="open")["status"] == "queued"
    conversations_drained(cloud)  # its job went through the worker: a wrong reply would be here
    assert len(chatwoot.replies(conversation)) == 2
    assert post(cloud, shop, status_changed(shop["account"], 12, conversation, "resolved"))["status"] == "noted"
    assert say(cloud, shop, conversation, "Voltei: tem protetor solar infantil?", status="open")[
        "status"] == "queued"
    assert len(wait_replies(chatwoot, conversation, 3)) == 3
