"""Chatwoot webhook signatures: `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256(secret, "{timestamp}.{raw_body}")>`.

Always over the raw bytes as received: re-serialized JSON would not match.
"""

from __future__ import annotations

import hashlib
import hmac
import time


class SignatureError(Exception):
    """Why a signature was refused (safe to show the caller: it names no secret)."""


def sign(secret: str, timestamp: str | int, raw_body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + raw_body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str | None, signature: str | None, raw_body: bytes, *,
           tolerance_s: int = 300, now: float | None = None) -> None:
    """Raises SignatureError unless `signature` is the body's HMAC and `timestamp` is within ±tolerance_s."""
    if not signature:
        raise SignatureError("X-Chatwoot-Signature header is missing")
    if not timestamp:
        raise SignatureError("X-Chatwoot-Timestamp header is missing")
    try:
        sent_at = int(timestamp.strip())
    except ValueError as exc:
        raise SignatureError("X-Chatwoot-Timestamp is not a Unix time in seconds") from exc
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_s:
        raise SignatureError(f"X-Chatwoot-Timestamp is more than {tolerance_s} s away from now")
    expected = sign(secret, timestamp.strip(), raw_body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SignatureError("X-Chatwoot-Signature does not match the body")
