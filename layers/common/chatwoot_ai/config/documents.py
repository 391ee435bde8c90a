"""Per-type validation of a document before it is stored, the credentials merge, and the mask every GET applies.

- `config`: the TenantConfig model (CONTRACT.md); unknown fields are kept.
- `credentials`: an object of secret strings. A PUT sends only the keys it changes (null removes one); the others
  are kept. Sending back the mask a GET showed ("****abcd") keeps the stored secret.
- any other type (e.g. per-channel overrides): any JSON object.

Rotation of the Chatwoot webhook secret: when a write changes `chatwoot_webhook_secret`, the document also keeps the
replaced secret as `chatwoot_webhook_secret_previous` and the Unix time of the change as
`chatwoot_webhook_secret_changed_at`. They travel with the credentials (one cached document), so the receiver checks
a signature against the previous secret within WEBHOOK_SECRET_OVERLAP_S without another read. Both are the server's
own: a PUT cannot set them (they are ignored when sent).
"""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import ValidationError

from chatwoot_ai.config.tables import SECRET_TYPES
from chatwoot_ai.errors import ApiError, from_validation_error
from chatwoot_ai.models import Credentials, TenantConfig, check_identifier, mask_secret

# Head and version items both carry the document; DynamoDB items stop at 400 KB.
MAX_DOCUMENT_BYTES = 128 * 1024
MAX_SECRET_CHARS = 2048
WEBHOOK_SECRET = "chatwoot_webhook_secret"
PREVIOUS_WEBHOOK_SECRET = "chatwoot_webhook_secret_previous"
WEBHOOK_SECRET_CHANGED_AT = "chatwoot_webhook_secret_changed_at"
SERVER_MANAGED = frozenset({PREVIOUS_WEBHOOK_SECRET, WEBHOOK_SECRET_CHANGED_AT})


def invalid(message: str, field: str | None = None) -> ApiError:
    return ApiError(422, "validation_error", message, field)


def validate_document(config_type: str, data: Any, previous: dict[str, Any] | None,
                      now: float | None = None) -> dict[str, Any]:
    """The document to store, or an ApiError naming the field. Nothing is stored unless all of it is valid."""
    if not isinstance(data, dict):
        raise invalid("a document must be a JSON object")
    size = len(json.dumps(data, ensure_ascii=False).encode())
    if size > MAX_DOCUMENT_BYTES:
        raise ApiError(413, "document_too_large", f"document is {size} bytes; the limit is {MAX_DOCUMENT_BYTES}")
    if config_type == "config":
        try:
            config = TenantConfig.model_validate(data)
        except ValidationError as exc:
            raise from_validation_error(exc) from exc
        from chatwoot_ai.odoo.sources import odoo_feeds  # the Odoo feeds' keys live in the open `odoo` section

        try:
            odoo_feeds(config)
        except ApiError as exc:
            raise ApiError(422, "validation_error", exc.message, exc.field) from exc
        return data
    if config_type in SECRET_TYPES:
        return merge_credentials(previous, data, now)
    return data


def merge_credentials(previous: dict[str, Any] | None, changes: dict[str, Any],
                      now: float | None = None) -> dict[str, Any]:
    previous = previous or {}
    merged = dict(previous)
    for key, value in changes.items():
        if key in SERVER_MANAGED:
            continue
        try:
            check_identifier(key, key)
        except ValueError as exc:
            raise invalid(f"credential names are identifiers: {exc}", key) from exc
        if value is None:
            merged.pop(key, None)
            continue
        if not isinstance(value, str) or not value:
            raise invalid("a credential is a non-empty string (null removes it)", key)
        if len(value) > MAX_SECRET_CHARS:
            raise invalid(f"a credential has at most {MAX_SECRET_CHARS} characters", key)
        if value.startswith("****"):
            if key in previous and value == mask_secret(previous[key]):
                continue  # the mask a GET showed, sent back: keep the stored secret
            raise invalid("this is a masked value, not a secret; send the new secret or leave the key out", key)
        merged[key] = value
    _keep_replaced_webhook_secret(previous, merged, now)
    try:
        Credentials.model_validate(merged)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc
    return merged


def _keep_replaced_webhook_secret(previous: dict[str, Any], merged: dict[str, Any], now: float | None) -> None:
    old, new = previous.get(WEBHOOK_SECRET), merged.get(WEBHOOK_SECRET)
    if new is None:
        for key in SERVER_MANAGED:  # no secret, nothing to overlap with
            merged.pop(key, None)
    elif old and new != old:
        merged[PREVIOUS_WEBHOOK_SECRET] = old
        merged[WEBHOOK_SECRET_CHANGED_AT] = str(int(time.time() if now is None else now))


def masked(config_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """What a GET shows: secrets replaced by their mask."""
    if config_type not in SECRET_TYPES:
        return data
    return {key: mask_secret(value) if isinstance(value, str) and key != WEBHOOK_SECRET_CHANGED_AT else value
            for key, value in data.items()}
