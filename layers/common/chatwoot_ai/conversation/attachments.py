"""What the bot makes of a message's attachments (Chatwoot `attachments[]`), so no voice note or photo meets silence.

- audio: Chatwoot's own `transcribed_text` when present; else, with `llm.transcription_model`, the file is downloaded
  and sent to the OpenAI-compatible `POST {llm.base_url}/audio/transcriptions`. The transcript is answered like text
  and goes into a private note for the agents.
- image: with `llm.vision_model`, the model describes the photo (with the caption) and the crew answers the
  description; without it the customer gets a friendly message and the caption is answered.
- anything else (video, file, sticker, location, contact, Instagram shares, types Chatwoot adds later): a short reply
  in the tenant's language, and a handoff when the tenant asks for one (`handoff.on_unreadable_attachment`).

Downloads are bounded in size and time, and only from the tenant's Chatwoot host (with its token) or from the storage
its ActiveStorage redirect points at (a well-known cloud storage host or one the tenant lists in
`chatwoot.storage_hosts`; https, without the token): a payload's `data_url` never makes the worker fetch an arbitrary
URL. The openai SDK (a crewai dependency) is imported only when a model is called.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from chatwoot_ai.conversation.queue_job import MAX_CONTENT_CHARS, Attachment
from chatwoot_ai.models import TenantConfig
from chatwoot_ai.observability import logger

# Where Chatwoot's ActiveStorage redirects point when files live in cloud storage.
STORAGE_SUFFIXES = (".amazonaws.com", ".googleapis.com", ".blob.core.windows.net", ".digitaloceanspaces.com",
                    ".r2.cloudflarestorage.com")
MAX_REDIRECTS = 2

_KIND_NAMES = {
    "pt": {"audio": "seu áudio", "image": "sua imagem", "video": "seu vídeo", "file": "seu arquivo",
           "location": "sua localização", "contact": "o contato", "sticker": "sua figurinha", "other": "sua mensagem"},
    "en": {"audio": "your voice message", "image": "your image", "video": "your video", "file": "your file",
           "location": "your location", "contact": "the contact", "sticker": "your sticker",
           "other": "your message"},
    "es": {"audio": "tu audio", "image": "tu imagen", "video": "tu video", "file": "tu archivo",
           "location": "tu ubicación", "contact": "el contacto", "sticker": "tu sticker", "other": "tu mensaje"},
}
_NOTICES = {
    "pt": {"unreadable": "Recebi {kinds}, mas ainda não consigo abrir esse tipo de mensagem. "
                         "Pode me escrever em texto o que você precisa?",
           "image": "Recebi {kinds}, mas ainda não consigo ver imagens. Pode me descrever em texto o que precisa?",
           "audio": "Recebi {kinds}, mas não consegui ouvi-lo. Pode me escrever sua mensagem?",
           "transcript": "🎙️ Transcrição do áudio do cliente:", "image_mark": "[Imagem enviada pelo cliente: {text}]"},
    "en": {"unreadable": "I got {kinds}, but I can't open this kind of message yet. Could you write what you need?",
           "image": "I got {kinds}, but I can't see images yet. Could you describe in text what you need?",
           "audio": "I got {kinds}, but I couldn't listen to it. Could you write your message?",
           "transcript": "🎙️ Transcript of the customer's voice message:",
           "image_mark": "[Image sent by the customer: {text}]"},
    "es": {"unreadable": "Recibí {kinds}, pero todavía no puedo abrir este tipo de mensaje. "
                         "¿Puedes escribirme lo que necesitas?",
           "image": "Recibí {kinds}, pero todavía no puedo ver imágenes. ¿Puedes describirme lo que necesitas?",
           "audio": "Recibí {kinds}, pero no pude escucharlo. ¿Puedes escribirme tu mensaje?",
           "transcript": "🎙️ Transcripción del audio del cliente:",
           "image_mark": "[Imagen enviada por el cliente: {text}]"},
}
_VISION_PROMPT = ("A customer of {company} sent this image{caption}. Describe in {language}, in at most three "
                  "sentences, what it shows that matters to help them: the product, its colour or size, any text, "
                  "order or invoice number, a defect. Describe only; do not answer the customer.")


def language_key(language: str) -> str:
    key = (language or "pt").split("-")[0].lower()
    return key if key in _NOTICES else "pt"


def kinds_text(kinds: list[str], language: str) -> str:
    names = _KIND_NAMES[language_key(language)]
    unique = list(dict.fromkeys(names.get(k, names["other"]) for k in kinds))
    joiner = {"pt": " e ", "es": " y "}.get(language_key(language), " and ")
    return joiner.join(unique)


class AttachmentError(Exception):
    """A file that may not or could not be fetched, or a model that failed on it."""


@dataclass
class Understood:
    """A message with its attachments made readable: `text` goes to the crew like any message."""

    text: str
    notices: list[str] = field(default_factory=list)  # short replies to the customer ("I can't see images...")
    transcripts: list[str] = field(default_factory=list)  # for the agents' private note
    unreadable: list[str] = field(default_factory=list)  # kinds nobody could read

    def note(self, language: str) -> str:
        head = _NOTICES[language_key(language)]["transcript"]
        return head + "\n" + "\n".join(f"> {t[:1500]}" for t in self.transcripts)


@dataclass
class AttachmentReader:
    max_bytes: int = 10 * 1024 * 1024
    timeout_s: float = 20.0
    transport: httpx.BaseTransport | None = None  # tests
    openai_factory: Callable[..., Any] | None = None  # tests: (api_key, base_url, timeout) -> an OpenAI client

    def understand(self, content: str, items: list[Attachment], config: TenantConfig, chatwoot_token: str | None,
                   llm_api_key: str | None) -> Understood:
        parts = [content.strip()] if content.strip() else []
        notices: dict[str, list[str]] = {}
        out = Understood("")
        lang = config.company.language
        for item in items:
            kind = item.file_type if item.file_type in ("audio", "image") else "other"
            try:
                if kind == "audio":
                    text = item.transcribed_text or self._transcribe(item, config, chatwoot_token, llm_api_key)
                    if text:
                        parts.append(text.strip())
                        out.transcripts.append(text.strip())
                        continue
                    notices.setdefault("audio", []).append("audio")
                    continue
                if kind == "image":
                    seen = self._describe(item, content, config, chatwoot_token, llm_api_key)
                    if seen:
                        parts.append(_NOTICES[language_key(lang)]["image_mark"].format(text=seen.strip()))
                        continue
                    notices.setdefault("image", []).append("image")
                    continue
            except (AttachmentError, httpx.HTTPError, OSError) as exc:
                logger.warning("attachment not understood", extra={"file_type": item.file_type, "error": str(exc)})
                notices.setdefault(kind if kind in ("audio", "image") else "unreadable", []).append(item.file_type)
                continue
            except Exception as exc:  # a model provider's own error classes
                logger.warning("attachment model failed", extra={"file_type": item.file_type,
                                                                 "error": type(exc).__name__})
                notices.setdefault(kind if kind in ("audio", "image") else "unreadable", []).append(item.file_type)
                continue
            notices.setdefault("unreadable", []).append(item.file_type)
        templates = _NOTICES[language_key(lang)]
        for key, kinds in notices.items():
            out.notices.append(templates[key].format(kinds=kinds_text(kinds, lang)))
            out.unreadable.extend(kinds)
        out.text = "\n".join(parts)[:MAX_CONTENT_CHARS]
        return out

    # ------------------------------------------------------------------ models
    def _transcribe(self, item: Attachment, config: TenantConfig, token: str | None, api_key: str | None) -> str:
        model = config.llm.transcription_model if config.llm else None
        if not model or not item.data_url:
            return ""
        data = self.fetch(item.data_url, config, token)
        name = item.data_url.rsplit("/", 1)[-1].split("?")[0] or f"audio.{item.extension or 'ogg'}"
        client = self._openai(config, api_key)
        result = client.audio.transcriptions.create(model=_bare(model), file=(name, data))
        return str(getattr(result, "text", "") or "")[:MAX_CONTENT_CHARS]

    def _describe(self, item: Attachment, caption: str, config: TenantConfig, token: str | None,
                  api_key: str | None) -> str:
        model = config.llm.vision_model if config.llm else None
        if not model or not item.data_url:
            return ""
        data = self.fetch(item.data_url, config, token)
        mime = _image_mime(item, data)
        prompt = _VISION_PROMPT.format(company=config.company.name, language=config.company.language,
                                       caption=f' with the caption "{caption.strip()[:300]}"' if caption.strip()
                                       else "")
        client = self._openai(config, api_key)
        # No temperature or token limit: newer models reject both (max_tokens, temperature != 1); the prompt asks
        # for three sentences.
        response = client.chat.completions.create(model=_bare(model), messages=[
            {"role": "user", "content": [
                {"type": "text", "text": prompt},
                {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{base64.b64encode(data).decode()}"}},
            ]}])
        return str(response.choices[0].message.content or "")[:1500]

    def _openai(self, config: TenantConfig, api_key: str | None) -> Any:
        base_url = config.llm.base_url if config.llm else None
        timeout = config.llm.timeout_s if config.llm else 30.0
        if self.openai_factory is not None:
            return self.openai_factory(api_key, base_url, timeout)
        from openai import OpenAI  # a crewai dependency; imported only when a model reads an attachment

        return OpenAI(api_key=api_key or "not-set", base_url=base_url, timeout=timeout, max_retries=1)

    # ------------------------------------------------------------------ download
    def fetch(self, url: str, config: TenantConfig, token: str | None) -> bytes:
        """The file at `url`, which must be on the tenant's Chatwoot host; one or two redirects to its storage."""
        if config.chatwoot is None:
            raise AttachmentError("the tenant has no chatwoot.base_url")
        home = urlsplit(config.chatwoot.base_url)
        if not _same_origin(urlsplit(url), home):
            raise AttachmentError("attachment URL is not on the tenant's Chatwoot host")
        deadline = time.monotonic() + self.timeout_s
        timeout = httpx.Timeout(self.timeout_s, connect=min(5.0, self.timeout_s))
        with httpx.Client(timeout=timeout, follow_redirects=False, transport=self.transport) as http:
            for _hop in range(MAX_REDIRECTS + 1):
                on_chatwoot = _same_origin(urlsplit(url), home)
                headers = {"api_access_token": token} if on_chatwoot and token else {}
                with http.stream("GET", url, headers=headers) as response:
                    if response.is_redirect:
                        target = urljoin(url, response.headers.get("location", ""))
                        if not (_same_origin(urlsplit(target), home) or
                                _storage_host(urlsplit(target), config.chatwoot.storage_hosts)):
                            raise AttachmentError("attachment redirect to a host that is not the tenant's storage")
                        url = target
                        continue
                    if response.status_code != 200:
                        raise AttachmentError(f"attachment download answered {response.status_code}")
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > self.max_bytes:
                        raise AttachmentError(f"attachment over {self.max_bytes} bytes")
                    chunks, size = [], 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > self.max_bytes:
                            raise AttachmentError(f"attachment over {self.max_bytes} bytes")
                        if time.monotonic() > deadline:
                            raise AttachmentError(f"attachment download over {self.timeout_s} s")
                        chunks.append(chunk)
                    return b"".join(chunks)
        raise AttachmentError("too many redirects")


def _same_origin(a: Any, b: Any) -> bool:
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port) and a.scheme in ("http", "https")


def _storage_host(target: Any, extra: list[str]) -> bool:
    host = (target.hostname or "").lower()
    if target.scheme != "https" or not host:
        return False
    for allowed in (*STORAGE_SUFFIXES, *extra):
        allowed = allowed.lower()
        if host == allowed.lstrip(".") or (allowed.startswith(".") and host.endswith(allowed)):
            return True
    return False


def _bare(model: str) -> str:
    """`openai/whisper-1` (crewai's provider prefix) → `whisper-1` for the SDK."""
    return model.split("/", 1)[1] if model.startswith("openai/") else model


def _image_mime(item: Attachment, data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return f"image/{(item.extension or 'jpeg').lower().lstrip('.')}"
