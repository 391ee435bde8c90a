"""The Config Viewer as a support lead uses it: sign in, read tenants and mappings, edit a config (form and JSON),
see the new version, see the API's validation error at the field, compare versions and restore an old one."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from viewer_pages import DEMO_CONFIG, get_config, put_config, sign_in

pytestmark = pytest.mark.browser


def tenant_route(tenant_id: str, tab: str = "config", domain: str = "retail") -> str:
    return f"#/tenant/{tenant_id}/{domain}/{tab}"


def test_sign_in_refuses_a_wrong_key_then_lists_tenants_with_their_inboxes(
        page: Any, viewer_url: str, admin_key: str, api: httpx.Client, tenant_id: str) -> None:
    put_config(api, tenant_id, DEMO_CONFIG)
    account = 80_000 + int(tenant_id[-4:], 16) % 9_999  # an account no other test maps
    response = api.put("/mapping", json={"mappings": [
        {"chatwoot_account_id": account, "chatwoot_inbox_id": 7101, "tenant_id": tenant_id, "domain": "retail",
         "channel": "whatsapp"}]})
    assert response.status_code == 200, response.text

    page.goto(viewer_url)
    page.get_by_label("Admin key").fill("not-the-key-0000000000")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not accepted")
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()  # nothing to reach before signing in

    page.get_by_label("Admin key").fill(admin_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Tenants", exact=True)).to_be_visible()
    page.get_by_label("Filter tenants").fill(tenant_id)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=tenant_id))
    expect(row).to_contain_text("retail")
    expect(row).to_contain_text("inbox 7101")
    expect(row).to_contain_text("whatsapp")

    # The key lives in this tab's session only.
    assert page.evaluate("sessionStorage.getItem('viewer.adminKey')") == admin_key
    assert page.evaluate("Object.values(localStorage).join(' ')").find(admin_key) == -1

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Admin key")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('viewer.adminKey')") is None


def test_edit_config_in_the_form_saves_a_new_version(
        page: Any, viewer_url: str, admin_key: str, api: httpx.Client, tenant_id: str) -> None:
    put_config(api, tenant_id, DEMO_CONFIG)
    sign_in(page, viewer_url, admin_key, tenant_route(tenant_id))

    expect(page.get_by_label("Company name")).to_have_value("Sandra Cosméticos")
    expect(page.locator(".version-line")).to_contain_text("Version 1")
    page.get_by_label("Greeting").fill("Oi! Aqui é a Ana 💄 Em que posso ajudar?")
    page.get_by_label("Keywords that call a human (comma-separated)").fill("atendente, humano, gerente")
    page.get_by_role("checkbox", name="Sun").check()
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("status").first).to_contain_text("Saved as version 2")
    expect(page.locator(".version-line")).to_contain_text("Version 2")
    stored = get_config(api, tenant_id)
    assert stored["version"] == 2
    assert stored["data"]["assistant"]["greeting"] == "Oi! Aqui é a Ana 💄 Em que posso ajudar?"
    assert stored["data"]["handoff"]["keywords"] == ["atendente", "humano", "gerente"]
    assert stored["data"]["business_hours"]["days"] == [0, 1, 2, 3, 4, 5, 6]
    # Fields the form did not touch are kept as they were.
    assert stored["data"]["odoo"] == DEMO_CONFIG["odoo"]
    assert stored["data"]["company"] == DEMO_CONFIG["company"]

    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("row").filter(has_text="current")).to_contain_text("2")
    diff = page.locator("table.diff")
    expect(diff.locator("td.ins")).to_contain_text(["Oi! Aqui é a Ana 💄 Em que posso ajudar?"])
    expect(diff.locator("td.del").first).to_contain_text("Olá! Sou a Ana, da Sandra Cosméticos.")


def test_edit_config_as_json_keeps_unknown_fields(
        page: Any, viewer_url: str, admin_key: str, api: httpx.Client, tenant_id: str) -> None:
    put_config(api, tenant_id, {**DEMO_CONFIG, "channels": {"whatsapp": {"max_length": 600}}})
    sign_in(page, viewer_url, admin_key, tenant_route(tenant_id))

    page.get_by_label("Company name").fill("Sandra Cosméticos Ltda")  # typed in the form, carried into the JSON
    page.get_by_role("radio", name="JSON").check()
    editor = page.get_by_label("Document (JSON)")
    document = json.loads(editor.input_value())
    assert document["company"]["name"] == "Sandra Cosméticos Ltda"
    assert document["channels"] == {"whatsapp": {"max_length": 600}}
    document["channels"]["instagram"] = {"max_length": 900}
    editor.fill(json.dumps(document, ensure_ascii=False, indent=2))
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("status").first).to_contain_text("Saved as version 2")
    stored = get_config(api, tenant_id)["data"]
    assert stored["company"]["name"] == "Sandra Cosméticos Ltda"
    assert stored["channels"] == {"whatsapp": {"max_length": 600}, "instagram": {"max_length": 900}}

    editor.fill("{ not json")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("not valid JSON")
    assert get_config(api, tenant_id)["version"] == 2


def test_validation_error_from_the_api_is_shown_at_the_field(
        page: Any, viewer_url: str, admin_key: str, api: httpx.Client, tenant_id: str) -> None:
    put_config(api, tenant_id, DEMO_CONFIG)
    sign_in(page, viewer_url, admin_key, tenant_route(tenant_id))

    temperature = page.get_by_label("Temperature (0–2)")
    temperature.fill("5")
    page.get_by_role("button", name="Save", exact=True).click()

    field = page.locator('.field[data-path="llm.temperature"]')
    expect(field.locator(".field-error")).to_be_visible()
    expect(field.locator(".field-error")).to_contain_text(re.compile(r"2"))
    expect(temperature).to_have_attribute("aria-invalid", "true")
    expect(temperature).to_be_focused()
    expect(page.get_by_role("alert")).to_contain_text("llm.temperature")
    assert get_config(api, tenant_id)["version"] == 1  # rejected whole, nothing written

    temperature.fill("0.7")
    page.get_by_label("Company name").fill("")
    page.get_by_role("button", name="Save", exact=True).click()
    company = page.locator('.field[data-path="company.name"]')
    expect(company.locator(".field-error")).to_be_visible()
    expect(page.get_by_label("Company name")).to_have_attribute("aria-invalid", "true")
    expect(field.locator(".field-error")).to_be_hidden()  # the old error is gone
    assert get_config(api, tenant_id)["version"] == 1

    page.get_by_label("Company name").fill("Sandra Cosméticos")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("Saved as version 2")
    assert get_config(api, tenant_id)["data"]["llm"]["temperature"] == 0.7


def test_restore_an_old_version_saves_it_as_a_new_version(
        page: Any, viewer_url: str, admin_key: str, api: httpx.Client, tenant_id: str) -> None:
    first = json.loads(json.dumps(DEMO_CONFIG))
    second = json.loads(json.dumps(DEMO_CONFIG))
    second["assistant"]["greeting"] = "Bom dia! Promoção de protetor solar hoje."
    second["enabled"] = False
    put_config(api, tenant_id, first)
    put_config(api, tenant_id, second)
    sign_in(page, viewer_url, admin_key, tenant_route(tenant_id, "history"))

    diff = page.locator("table.diff")
    expect(diff.locator("td.del")).to_contain_text(["Olá! Sou a Ana, da Sandra Cosméticos.", "true"])
    expect(diff.locator("td.ins")).to_contain_text(["Bom dia! Promoção de protetor solar hoje.", "false"])
    expect(page.get_by_text("2 lines removed, 2 lines added.")).to_be_visible()

    page.get_by_role("button", name="Restore version 1").click()
    page.get_by_role("button", name="Restore version 1").click()  # the confirmation
    expect(page.get_by_role("status").first).to_contain_text("Version 1 restored as version 3")
    expect(page.get_by_role("row").filter(has_text="current")).to_contain_text("3")

    stored = get_config(api, tenant_id)
    assert stored["version"] == 3
    assert (stored["written_by"], get_config(api, tenant_id, version=2)["written_by"]) == ("viewer", "admin")
    assert stored["data"]["assistant"]["greeting"] == first["assistant"]["greeting"]
    assert stored["data"]["enabled"] is True
    assert get_config(api, tenant_id, version=2)["data"]["enabled"] is False  # history is never rewritten


def test_a_stale_edit_is_refused_and_explained(
        page: Any, viewer_url: str, admin_key: str, api: httpx.Client, tenant_id: str) -> None:
    put_config(api, tenant_id, DEMO_CONFIG)
    sign_in(page, viewer_url, admin_key, tenant_route(tenant_id))
    expect(page.get_by_label("Company name")).to_have_value("Sandra Cosméticos")

    put_config(api, tenant_id, {**DEMO_CONFIG, "enabled": False})  # someone else saves meanwhile
    page.get_by_label("Greeting").fill("Esta edição chegou tarde")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("alert")).to_contain_text("Someone saved this document meanwhile")
    stored = get_config(api, tenant_id)
    assert stored["version"] == 2 and stored["data"]["enabled"] is False
    page.get_by_role("button", name="Reload").click()
    expect(page.locator(".version-line")).to_contain_text("Version 2")
    expect(page.get_by_label("The bot answers this tenant's conversations")).not_to_be_checked()
