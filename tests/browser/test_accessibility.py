"""WCAG 2.1 A/AA checks (axe-core, as shipped inside the axe-playwright-python package) on every view of the viewer,
plus keyboard-only use: sign in and save a config without touching the mouse."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from viewer_pages import DEMO_CONFIG, get_config, put_config, violations

pytestmark = pytest.mark.browser

@pytest.mark.parametrize("locale", ["en-US", "pt-BR"])
def test_every_view_passes_wcag_aa_checks(browser: Any, viewer_url: str, admin_key: str, api: httpx.Client,
                                          tenant_id: str, axe_source: str, locale: str) -> None:
    put_config(api, tenant_id, DEMO_CONFIG)
    put_config(api, tenant_id, {**DEMO_CONFIG, "enabled": False})
    put_config(api, tenant_id, {"odoo_api_key": "odoo-key-a11y-123456"}, config_type="credentials")
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(viewer_url)
        page.locator("#signin-key").wait_for()
        found = {"sign-in": violations(page, axe_source)}
        page.locator("#signin-key").fill(admin_key)
        page.locator("#signin-key").press("Enter")
        page.locator("#signout").wait_for()
        views = {
            "tenants": ("#/", "table"),
            "mappings": ("#/mappings", "h1"),
            "vectorize": ("#/vectorize", "#vec-collections"),
            "config form": (f"#/tenant/{tenant_id}/retail/config", "#cfg-company-name"),
            "history": (f"#/tenant/{tenant_id}/retail/history", "table.diff"),
            "credentials": (f"#/tenant/{tenant_id}/retail/credentials", "#cred-odoo_api_key"),
        }
        for name, (route, ready) in views.items():
            page.goto(viewer_url + route)
            page.locator(ready).first.wait_for()
            found[name] = violations(page, axe_source)
        page.goto(viewer_url + f"#/tenant/{tenant_id}/retail/config")
        page.locator("#cfg-llm-temperature").fill("7")
        page.locator("#cfg-llm-temperature").press("Enter")
        page.locator('.field[data-path="llm.temperature"] .field-error').wait_for()
        found["config with a field error"] = violations(page, axe_source)
    finally:
        context.close()
    assert {name: v for name, v in found.items() if v} == {}


def test_keyboard_only_sign_in_edit_and_save(page: Any, viewer_url: str, admin_key: str, api: httpx.Client,
                                             tenant_id: str) -> None:
    put_config(api, tenant_id, DEMO_CONFIG)
    page.goto(viewer_url + f"#/tenant/{tenant_id}/retail/config")
    expect(page.get_by_label("Admin key")).to_be_focused()  # ready to type
    page.keyboard.type(admin_key)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=tenant_id)).to_be_focused()  # focus moves to the new page

    page.keyboard.press("Tab")
    for _ in range(60):  # walk the page with Tab until the company name field
        if page.evaluate("document.activeElement && document.activeElement.id") == "cfg-company-name":
            break
        page.keyboard.press("Tab")
    expect(page.get_by_label("Company name")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("Sandra Cosméticos — Loja Centro")
    page.keyboard.press("Enter")  # submits the form
    expect(page.get_by_role("status").first).to_contain_text("Saved as version 2")
    assert get_config(api, tenant_id)["data"]["company"]["name"] == "Sandra Cosméticos — Loja Centro"
