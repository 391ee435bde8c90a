"""agents.yaml / tasks.yaml / channels.yaml: loading, per-tenant placeholders and per-channel formatting rules."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([a-z_]+)\}")

STYLES = {
    "friendly": "friendly and warm, close to the customer, but professional",
    "formal": "formal and polite",
    "neutral": "neutral and objective",
    "technical": "precise and technical",
}
EMOJI_RULES = {
    "none": "Never use emoji.",
    "low": "Use at most one emoji, and only when it fits.",
    "moderate": "You may use an emoji or two when it fits.",
    "high": "Use emoji freely to sound warm.",
}


@lru_cache(maxsize=4)
def load_yaml(name: str) -> dict[str, Any]:
    data = yaml.safe_load((HERE / name).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{name} must be a mapping")
    return data


def fill(template: str, values: dict[str, Any]) -> str:
    """Replaces only the `{name}` placeholders it knows; `{{`/`}}` become braces; customer text is never parsed."""

    def repl(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        key = match.group(1)
        return str(values[key]) if key in values else token

    return _PLACEHOLDER.sub(repl, template)


def prefill(template: str, values: dict[str, Any]) -> str:
    """`fill` in two steps: the values known now go in with their braces doubled, so the later `fill` of the rest
    reads them as text; the other placeholders and `{{`/`}}` stay for that fill."""

    def repl(match: re.Match[str]) -> str:
        key = match.group(1)
        if key is None or key not in values:
            return match.group(0)
        return str(values[key]).replace("{", "{{").replace("}", "}}")

    return _PLACEHOLDER.sub(repl, template)


def channel_profile(channel: str, overrides: dict[str, dict[str, object]] | None = None) -> dict[str, Any]:
    """channels.yaml's rules for `channel` (api when unknown), with the tenant's overrides on top."""
    channels = load_yaml("channels.yaml")
    profile = dict(channels.get(channel) or channels["api"])
    profile.update((overrides or {}).get(channel) or {})
    profile["name"] = channel
    return profile


def format_rules(profile: dict[str, Any], emoji_usage: str) -> str:
    markdown = {"none": "No Markdown or other formatting.", "whatsapp": "WhatsApp formatting only (*bold*).",
                "markdown": "Simple Markdown is fine."}.get(str(profile.get("markdown")), "")
    emoji = EMOJI_RULES.get(emoji_usage, "") if profile.get("emoji", True) else "Never use emoji."
    return " ".join(p for p in [str(profile.get("rules", "")).strip(), markdown, emoji,
                                f"At most {profile.get('max_length', 1000)} characters."] if p)


_EMOJI = re.compile("[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f900-\U0001f9ff\ufe0f\u200d]")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*", re.MULTILINE)
_MD_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)]+)\)")


def format_reply(text: str, profile: dict[str, Any], emoji_usage: str) -> list[str]:
    """The messages the customer receives: the channel's markup enforced, then split at paragraph or sentence ends
    into messages of at most the channel's size (the tenant's `max_length`, never above the channel's hard
    `message_limit`: WhatsApp 4096, Instagram 1000)."""
    hard = int(str(profile.get("message_limit", 4096)))
    return split_message(apply_format(text, profile, emoji_usage), min(hard, int(str(profile.get("max_length", hard)))))


def apply_format(text: str, profile: dict[str, Any], emoji_usage: str) -> str:
    """Enforces what a model may forget: no emoji where banned, the channel's markup. Length is `format_reply`'s."""
    out = text.strip()
    if not profile.get("emoji", True) or emoji_usage == "none":
        out = re.sub(r" {2,}", " ", _EMOJI.sub("", out)).strip()
    markdown = str(profile.get("markdown", "none"))
    if markdown != "markdown":
        out = _MD_HEADING.sub("", out)
        out = _MD_LINK.sub(r"\1: \2", out)
        out = out.replace("**", "*" if markdown == "whatsapp" else "").replace("__", "")
        if markdown == "none":
            out = re.sub(r"(?<!\w)\*(\S[^*\n]*?)\*(?!\w)", r"\1", out)
    return re.sub(r"[ \t]+\n", "\n", out)


_SENTENCE = re.compile(r"(?<=[.!?…])\s+")


def split_message(text: str, limit: int) -> list[str]:
    """`text` in messages of at most `limit` characters, cut only between paragraphs, else between sentences, else
    (a single sentence longer than a message) between words: never half a sentence when a whole one fits."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    pieces: list[tuple[str, str]] = []  # (separator before it, piece)
    for p_index, paragraph in enumerate(p for p in re.split(r"\n\s*\n", text) if p.strip()):
        lead = "\n\n" if p_index else ""
        if len(paragraph) <= limit:
            pieces.append((lead, paragraph.strip()))
            continue
        for s_index, sentence in enumerate(_SENTENCE.split(paragraph.strip())):
            sep = lead if s_index == 0 else " "
            while len(sentence) > limit:  # one sentence longer than a message: at a word
                cut = sentence.rfind(" ", 0, limit)
                cut = cut if cut > 0 else limit
                pieces.append((sep, sentence[:cut]))
                sentence, sep = sentence[cut:].strip(), " "
            pieces.append((sep, sentence))
    messages: list[str] = []
    current = ""
    for sep, piece in pieces:
        if current and len(current) + len(sep) + len(piece) <= limit:
            current += sep + piece
        else:
            if current:
                messages.append(current.strip())
            current = piece
    if current.strip():
        messages.append(current.strip())
    return messages


def normalize(text: str) -> str:
    """Lower case without accents: "Atendênte" matches the keyword "atendente"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
