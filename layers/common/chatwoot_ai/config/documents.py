"""Per-type validation of a document before it is stored, the credentials merge, and the mask every GET applies.

- `config`: the TenantConfig model (CONTRACT.md); unknown fields are kept.
- `credentials`: an object of secret strings. A PUT sends only the keys it changes (null removes one); the others
  are kept. Sending back the mask a GET showed ("****abcd") keeps the stored secret.
- any other type (e.g. per-channel overrides): any JSON object.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from chatwoot_ai.config.tables import SECRET_TYPES
from chatwoot_ai.errors import ApiError, from_validation_error
from chatwoot_ai.models import Credentials, TenantConfig, check_identifier, mask_secret

# Head and version items both carry the document; DynamoDB items stop at 400 KB.
MAX_DOCUMENT_BYTES = 128 * 1024
MAX_SECRET_CHARS = 2048


def invalid(message: str, field: str | None = None) -> ApiError:
    return ApiError(422, "validation_error", message, field)


def validate_document(config_type: str, data: Any, previous: dict[str, Any] | None) -> dict[str, Any]:
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
        return merge_credentials(previous, data)
    return data


def merge_credentials(previous: dict[str, Any] | None, changes: dict[str, Any]) -> dict[str, Any]:
    previous = previous or {}
    merged = dict(previous)
    for key, value in changes.items():
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
    try:
        Credentials.model_validate(merged)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc
    return merged


def masked(config_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """What a GET shows: secrets replaced by their mask."""
    if config_type not in SECRET_TYPES:
        return data
    return {key: mask_secret(value) if isinstance(value, str) else value for key, value in data.items()}
