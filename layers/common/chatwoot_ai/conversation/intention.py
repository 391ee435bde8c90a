"""What the intention agent decided: the customer's intent and language, whether they ask for a person, and how sure
the business can answer. Read leniently: anything unreadable means "no opinion" (confident, no handoff)."""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass

_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


@dataclass(frozen=True)
class Intention:
    intent: str = "other"
    language: str = ""
    wants_human: bool = False
    confidence: float = 1.0

    @classmethod
    def parse(cls, text: str) -> Intention:
        found = _JSON_OBJECT.search(text or "")
        if not found:
            return cls()
        try:
            data = json.loads(found.group(0))
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        confidence = 1.0
        with contextlib.suppress(TypeError, ValueError):
            confidence = max(0.0, min(1.0, float(data.get("confidence", 1.0))))
        return cls(
            intent=str(data.get("intent") or "other")[:40],
            language=str(data.get("language") or "")[:20],
            wants_human=data.get("wants_human") is True or str(data.get("wants_human")).lower() == "true",
            confidence=confidence,
        )
