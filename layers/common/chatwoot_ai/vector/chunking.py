"""Long texts (policies, manuals) become overlapping chunks that fit the embedding model's window.

MiniLM reads 256 word pieces, about 800 characters of Portuguese; whatever lies past that would be silently cut.
Chunks end on sentence boundaries when they can and repeat the last `overlap` characters of the previous chunk,
so a sentence cut in two is still whole in one of them.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")


def _pieces(text: str, max_chars: int) -> list[str]:
    """Sentences, with any sentence longer than `max_chars` cut at word boundaries."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip()
        if not sentence:
            continue
        while len(sentence) > max_chars:
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            out.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if sentence:
            out.append(sentence)
    return out


def _tail(text: str, overlap: int) -> str:
    """The last `overlap` characters of `text`, starting at a word."""
    if overlap <= 0 or len(text) <= overlap:
        return text if overlap > 0 else ""
    tail = text[-overlap:]
    space = tail.find(" ")
    return tail[space + 1:] if 0 <= space < len(tail) - 1 else tail


def chunk_text(text: str, max_chars: int = 800, overlap: int = 120) -> list[str]:
    """`text` as chunks of at most `max_chars` characters, each starting with the previous one's tail."""
    if max_chars < 50:
        raise ValueError("max_chars must be at least 50")
    overlap = max(0, min(overlap, max_chars // 2))
    text = re.sub(r"[ \t]+", " ", text).strip()
    if len(text) <= max_chars:
        return [text] if text else []
    chunks: list[str] = []
    current = ""
    for piece in _pieces(text, max_chars - overlap):
        candidate = f"{current} {piece}".strip() if current else piece
        if len(candidate) <= max_chars:
            current = candidate
            continue
        chunks.append(current)
        tail = _tail(current, overlap)
        current = f"{tail} {piece}".strip() if tail else piece
    if current and (not chunks or current != _tail(chunks[-1], overlap)):
        chunks.append(current)
    return chunks
