"""The pieces of issue 16's identity and rotation that need no stack: the signed customer identity, who is the
customer's partner, and the credentials document's record of a replaced webhook secret."""

from __future__ import annotations

import pytest

from chatwoot_ai.config.documents import masked, merge_credentials
from chatwoot_ai.identity import CustomerIdentity, sign_identity, verify_identity
from chatwoot_ai.odoo.bound import is_contact, phone_matches


@pytest.fixture(autouse=True)
def signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from chatwoot_ai.settings import reset_settings

    monkeypatch.setenv("IDENTITY_SIGNING_KEY", "chave-de-teste-0123456789")
    reset_settings()
    yield
    monkeypatch.undo()
    reset_settings()


def test_an_identity_round_trips_and_nothing_else_verifies() -> None:
    maria = CustomerIdentity("loja", "default", 3, 431, 905, "+5511987654321", "maria@example.com.br")
    token = sign_identity(maria, now=1_000_000)
    back = verify_identity(token, now=1_000_100)
    assert back is not None and (back.tenant_id, back.phone, back.email) == ("loja", maria.phone, maria.email)
    assert verify_identity(token, now=1_000_000 + 601) is None  # expired (IDENTITY_TOKEN_TTL_S 600)
    head, _body, mac = token.split(".")
    other = sign_identity(CustomerIdentity("outra", "default", 3, 431), now=1_000_000).split(".")[1]
    assert verify_identity(f"{head}.{other}.{mac}", now=1_000_100) is None  # another body, the same signature
    assert verify_identity(token[:-2] + "xx", now=1_000_100) is None
    assert verify_identity("", now=1_000_100) is None and verify_identity("v1.x", now=1_000_100) is None


def test_an_identity_without_the_key_does_not_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    from chatwoot_ai.settings import reset_settings

    token = sign_identity(CustomerIdentity("loja", "default", 3, 431, 905, "+5511987654321"))
    monkeypatch.setenv("IDENTITY_SIGNING_KEY", "outra-chave-9876543210")
    reset_settings()
    assert verify_identity(token) is None


@pytest.mark.parametrize(("stored", "matches"), [
    ("+55 11 98765-4321", True), ("(11) 98765-4321", True), ("11987654321", True),
    ("98765-4321", False),  # no area code: too little to tell two customers apart
    ("(21) 98765-4321", False), ("", False), (False, False),
])
def test_a_partner_is_the_contact_when_the_whole_number_matches(stored: object, matches: bool) -> None:
    assert phone_matches("+5511987654321", stored) is matches


def test_a_partner_is_the_contact_by_e_mail_without_case() -> None:
    who = CustomerIdentity("loja", "default", 3, 431, 905, None, "Maria.Silva@Example.com.br")
    assert is_contact(who, {"email": "maria.silva@example.com.br", "phone": False})
    assert not is_contact(who, {"email": "joao@example.com.br", "phone": "+55 11 98765-4321"})


def test_a_changed_webhook_secret_keeps_the_previous_one_and_when() -> None:
    first = merge_credentials(None, {"chatwoot_webhook_secret": "segredo-antigo-1"}, now=100)
    assert "chatwoot_webhook_secret_previous" not in first
    second = merge_credentials(first, {"chatwoot_webhook_secret": "segredo-novo-22"}, now=200)
    assert second["chatwoot_webhook_secret_previous"] == "segredo-antigo-1"
    assert second["chatwoot_webhook_secret_changed_at"] == "200"
    # Another key changing, or the mask sent back, leaves the record alone; a PUT cannot forge it.
    third = merge_credentials(second, {**masked("credentials", second), "odoo_api_key": "odoo-123456789",
                                       "chatwoot_webhook_secret_previous": "forjado-pelo-cliente",
                                       "chatwoot_webhook_secret_changed_at": "999999"}, now=300)
    assert third["chatwoot_webhook_secret_previous"] == "segredo-antigo-1"
    assert third["chatwoot_webhook_secret_changed_at"] == "200"
    assert masked("credentials", third)["chatwoot_webhook_secret_changed_at"] == "200"
    assert masked("credentials", third)["chatwoot_webhook_secret_previous"] == "****go-1"
    # Removing the secret removes the overlap with it.
    assert merge_credentials(third, {"chatwoot_webhook_secret": None}, now=400).keys() == {"odoo_api_key"}
