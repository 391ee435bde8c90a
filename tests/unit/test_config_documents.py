"""Per-type validation before a write, the credentials merge, and the mask a GET applies."""

from __future__ import annotations

from typing import Any

import pytest

from chatwoot_ai.config.documents import MAX_DOCUMENT_BYTES, masked, merge_credentials, validate_document
from chatwoot_ai.errors import ApiError


def rejected(config_type: str, data: Any, previous: dict[str, Any] | None = None) -> ApiError:
    with pytest.raises(ApiError) as caught:
        validate_document(config_type, data, previous)
    return caught.value


def test_a_config_is_validated_and_the_first_bad_field_is_named() -> None:
    good = {"company": {"name": "Loja Exemplo"}, "llm": {"model": None}, "extra_field": {"kept": True}}
    assert validate_document("config", good, None) == good  # stored as sent, unknown fields kept

    error = rejected("config", {"company": {"name": "Loja"}, "llm": {"temperature": 5}})
    assert (error.status, error.field) == (422, "llm.temperature")
    assert rejected("config", {"assistant": {"name": "Ana"}}).field == "company"
    assert rejected("config", {"company": {"name": "L"}, "business_hours": {"start": "25:00"}}).field == \
        "business_hours.start"
    assert rejected("config", {"company": {"name": "L"}, "enabled_collections": ["ok", "não ok"]}).field == \
        "enabled_collections"


def test_any_type_must_be_an_object_and_not_too_big() -> None:
    assert validate_document("whatsapp", {"max_length": 600}, None) == {"max_length": 600}
    assert rejected("whatsapp", [1, 2]).status == 422
    assert rejected("config", "texto").status == 422
    assert rejected("notes", {"text": "x" * (MAX_DOCUMENT_BYTES + 1)}).status == 413


def test_credentials_merge_keeps_what_a_put_does_not_mention() -> None:
    stored = {"odoo_api_key": "odoo-key-original-1234", "llm_api_key": "sk-llm-original-9876"}
    merged = merge_credentials(stored, {"odoo_api_key": "odoo-key-novo-5678"})
    assert merged == {"odoo_api_key": "odoo-key-novo-5678", "llm_api_key": "sk-llm-original-9876"}
    assert merge_credentials(stored, {"llm_api_key": None}) == {"odoo_api_key": "odoo-key-original-1234"}


def test_sending_back_the_mask_keeps_the_secret_and_a_foreign_mask_is_refused() -> None:
    stored = {"odoo_api_key": "odoo-key-original-1234"}
    assert merge_credentials(stored, masked("credentials", stored)) == stored
    with pytest.raises(ApiError) as caught:
        merge_credentials(stored, {"odoo_api_key": "****9999"})
    assert caught.value.field == "odoo_api_key"


@pytest.mark.parametrize("changes, field", [
    ({"odoo_api_key": ""}, "odoo_api_key"),
    ({"odoo_api_key": 1234}, "odoo_api_key"),
    ({"odoo_api_key": "x" * 5000}, "odoo_api_key"),
    ({"chave inválida": "abc"}, "chave inválida"),
])
def test_bad_credentials_are_refused_naming_the_key(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ApiError) as caught:
        merge_credentials({}, changes)
    assert (caught.value.status, caught.value.field) == (422, field)


def test_the_mask_shows_only_the_last_four_characters() -> None:
    shown = masked("credentials", {"odoo_api_key": "odoo-key-original-1234", "short": "abc"})
    assert shown == {"odoo_api_key": "****1234", "short": "****"}
    assert masked("config", {"company": {"name": "Loja"}}) == {"company": {"name": "Loja"}}
