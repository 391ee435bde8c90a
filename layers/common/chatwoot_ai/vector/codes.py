"""Codes customers type and records carry: SKUs / Odoo default_code ("PROT-50-001", "gr-aur-6p"), order refs
("S00012", "PC-10234") and CEPs ("13025-320"). Neither embedding model nor the stemmer sees "PROT-50-001" as one
token, so records keep their codes in a `codes` keyword payload and a query naming one gets an exact-match leg.

Codes are compared upper-case with everything but letters and digits removed ("mask-ah-002" = "MASKAH002"); a CEP
becomes "CEP" + its 8 digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# Hyphenated tokens with a digit ("prot-50-001", "pc-10234") or written all in capitals ("BEL-KIDS"); Portuguese
# hyphenated words ("guarda-roupa", "oil-free") have neither.
_HYPHENATED = re.compile(r"(?<![\w-])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+(?![\w-])")
_ORDER_REF = re.compile(r"(?<![\w-])[A-Za-z]{1,3}\d{4,8}(?![\w-])")
_CEP = re.compile(r"(?<![\d-])(\d{5})-?(\d{3})(?![\d-])")
# Metadata fields that hold a code (Odoo: default_code, barcode; our records: sku).
CODE_FIELDS = ("sku", "default_code", "code", "barcode", "ref", "reference")


def normalize(code: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", code.upper())


def _is_code(token: str) -> bool:
    if any(ch.isdigit() for ch in token):
        return any(ch.isalpha() for ch in token) and len(normalize(token)) >= 4
    letters = token.replace("-", "")
    return letters.isupper() and len(letters) >= 4


def find_codes(text: str) -> list[str]:
    """The normalized codes in a text, in order, without repeats."""
    found: list[str] = []
    for match in _CEP.finditer(text):
        found.append(f"CEP{match.group(1)}{match.group(2)}")
    found.extend(normalize(m.group(0)) for m in _HYPHENATED.finditer(text) if _is_code(m.group(0)))
    found.extend(normalize(m.group(0)) for m in _ORDER_REF.finditer(text))
    return list(dict.fromkeys(found))


def record_codes(text: str, metadata: dict[str, Any]) -> list[str]:
    """Codes of a record: those in its text and those of its code fields."""
    values: Iterable[Any] = (metadata.get(key) for key in CODE_FIELDS)
    from_metadata = [normalize(str(v)) for v in values if isinstance(v, str | int) and not isinstance(v, bool)]
    return list(dict.fromkeys([*find_codes(text), *(c for c in from_metadata if len(c) >= 3)]))
