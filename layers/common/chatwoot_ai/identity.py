"""The customer a conversation worker speaks for, signed so the Odoo gateway can trust it.

The webhook job carries what Chatwoot says about the sender (contact id, phone in E.164, e-mail); the worker signs
them with the server-side key and sends the token as the `X-Customer-Identity` header of its MCP calls. It is never a
tool argument, so a model cannot change it. The gateway verifies the token (HMAC-SHA256, constant-time, with an
expiry) and answers order and customer lookups for that customer only (chatwoot_ai.odoo.bound).

Token: `v1.<base64url JSON payload>.<base64url HMAC-SHA256(key, "v1." + payload part)>`. The key is
IDENTITY_SIGNING_KEY, or, when unset, an HMAC of ADMIN_API_KEY under a fixed label (a stack with one secret works;
anyone holding the admin key can already read everything). The token also names the tenant and stands for it at the
gateway: the worker needs no admin key for its Odoo calls.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from chatwoot_ai.settings import get_settings

IDENTITY_HEADER = "X-Customer-Identity"
# The error code of an order or customer lookup for a contact Chatwoot knows no phone or e-mail of.
VERIFICATION_REQUIRED = "verification_required"
_VERSION = "v1"


@dataclass(frozen=True)
class CustomerIdentity:
    tenant_id: str
    domain: str
    account_id: int
    conversation_id: int
    contact_id: int | None = None
    phone: str | None = None  # E.164 as Chatwoot keeps it, e.g. +5511987654321
    email: str | None = None
    exp: int = 0  # Unix seconds

    @property
    def verified(self) -> bool:
        """Chatwoot gave a phone or an e-mail to match Odoo's records against (the web widget's visitors have
        neither until they give one)."""
        return bool(self.phone or self.email)


def _key() -> bytes:
    settings = get_settings()
    own = settings.identity_signing_key.get_secret_value()
    if own:
        return own.encode("utf-8")
    admin = settings.admin_api_key.get_secret_value()
    if not admin:
        return b""
    return hmac.new(admin.encode("utf-8"), b"chatwoot-ai customer identity v1", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, signed_part: str) -> str:
    return _b64(hmac.new(key, signed_part.encode("ascii"), hashlib.sha256).digest())


def can_sign() -> bool:
    return bool(_key())


def sign_identity(identity: CustomerIdentity, *, now: float | None = None) -> str:
    """The token for `identity`, valid IDENTITY_TOKEN_TTL_S from now (its `exp` is replaced)."""
    key = _key()
    if not key:
        raise RuntimeError("neither IDENTITY_SIGNING_KEY nor ADMIN_API_KEY is set: no identity can be signed")
    exp = int((time.time() if now is None else now) + get_settings().identity_token_ttl_s)
    payload = {k: v for k, v in asdict(identity).items() if v is not None} | {"exp": exp}
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    signed_part = f"{_VERSION}.{body}"
    return f"{signed_part}.{_mac(key, signed_part)}"


def verify_identity(token: str, *, now: float | None = None) -> CustomerIdentity | None:
    """The identity a well-formed, correctly signed, unexpired token carries; else None."""
    key = _key()
    parts = (token or "").strip().split(".")
    if not key or len(parts) != 3 or parts[0] != _VERSION or len(token) > 4096:
        return None
    signed_part = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_mac(key, signed_part), parts[2]):
        return None
    try:
        data: dict[str, Any] = json.loads(_unb64(parts[1]))
        identity = CustomerIdentity(
            tenant_id=str(data["tenant_id"]), domain=str(data["domain"]), account_id=int(data["account_id"]),
            conversation_id=int(data["conversation_id"]),
            contact_id=int(data["contact_id"]) if data.get("contact_id") is not None else None,
            phone=str(data["phone"]) if data.get("phone") else None,
            email=str(data["email"]) if data.get("email") else None, exp=int(data["exp"]))
    except (ValueError, KeyError, TypeError):
        return None
    if identity.exp < (time.time() if now is None else now):
        return None
    return identity
