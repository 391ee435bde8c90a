"""Signed webhooks: `<signature header>: sha256=<hex HMAC-SHA256(secret, "{timestamp}.{raw body}")>` with the sender's
Unix time in `<timestamp header>`, within ±tolerance of now. Chatwoot signs its webhooks this way (`X-Chatwoot-*`),
and Odoo signs its deliveries to us the same way (`X-Odoo-*`).

Always over the raw bytes as received: re-serialized JSON would not match.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass

from chatwoot_ai.errors import bad_request

MAX_TIMESTAMP_DIGITS = 12  # Unix seconds have 10 digits until the year 2286; more is not a time, it is an attack
_DIGITS = re.compile(r"[0-9]+")


class SignatureError(Exception):
    """Why a signature was refused (safe to show the caller: it names no secret)."""


@dataclass(frozen=True)
class Scheme:
    """Who signs: the two header names, and what a wrong signature is told."""

    timestamp_header: str
    signature_header: str
    mismatch: str


CHATWOOT = Scheme("X-Chatwoot-Timestamp", "X-Chatwoot-Signature", "X-Chatwoot-Signature does not match the body")
# One answer for an unknown tenant, a tenant without a secret and a wrong signature: nothing to probe with.
ODOO = Scheme("X-Odoo-Timestamp", "X-Odoo-Signature", "bad signature")


def sign(secret: str, timestamp: str | int, raw_body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + raw_body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def parse_timestamp(value: str, header_name: str) -> int:
    """A signed request's timestamp header as Unix seconds: 1-12 ASCII digits, else a 400 naming the header (a
    400-digit value used to overflow the float comparison: a 500)."""
    text = value.strip()
    if not _DIGITS.fullmatch(text) or len(text) > MAX_TIMESTAMP_DIGITS:
        raise bad_request(f"{header_name} must be a Unix time in seconds: 1-{MAX_TIMESTAMP_DIGITS} digits",
                          header_name, code="invalid_timestamp")
    return int(text)


def verify(secret: str | None, timestamp: str | None, signature: str | None, raw_body: bytes, *,
           scheme: Scheme = CHATWOOT, tolerance_s: int = 300, now: float | None = None) -> None:
    """Raises SignatureError unless `signature` is the body's HMAC under `secret` (None: nothing matches) and
    `timestamp` is within ±tolerance_s of now. A malformed timestamp is a 400 ApiError (parse_timestamp)."""
    if not signature:
        raise SignatureError(f"{scheme.signature_header} header is missing")
    if not timestamp:
        raise SignatureError(f"{scheme.timestamp_header} header is missing")
    sent_at = parse_timestamp(timestamp, scheme.timestamp_header)  # malformed: a 400 (ApiError), not a SignatureError
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_s:
        raise SignatureError(f"{scheme.timestamp_header} is more than {tolerance_s} s away from now")
    expected = sign(secret, timestamp.strip(), raw_body) if secret else ""
    if not expected or not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SignatureError(scheme.mismatch)
