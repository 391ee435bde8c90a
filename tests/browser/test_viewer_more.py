"""The rest of the viewer: credentials never shown, mappings, vectorization (and its "not available" state),
the language toggle and a phone-sized screen."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from viewer_pages import DEMO_CONFIG, get_config, put_config, sign_in

pytestmark = pytest.mark.browser


def test_credentials_are_masked_and_only_the_typed_keys_are_replaced(
        page: Any, viewer_url: str, admin_key: str, api: httpx.Client, tenant_id: str) -> None:
    put_config(api, tenant_id, DEMO_CONFIG)
    secrets = {"chatwoot_api_access_token": "cw-token-SECRET-4f2a9b", "odoo_api_key": "odoo-key-SECRET-77c1d3"}
    put_config(api, tenant_id, secrets, config_type="credentials")
    before = get_config(api, tenant_id, config_type="credentials")["data"]

    sign_in(page, viewer_url, admin_key, f"#/tenant/{tenant_id}/retail/credentials")
    row = page.get_by_role("row").filter(has_text="odoo_api_key")
    expect(row).to_contain_text(before["odoo_api_key"])  # the API's mask, e.g. ****c1d3
    html = page.content()
    for secret in secrets.values():
        assert secret not in html
    expect(page.get_by_role("row").filter(has_text="llm_api_key")).to_contain_text("not set")

    page.get_by_label("Replace odoo_api_key").fill("odoo-key-NEW-a1b2c3d4")
    page.get_by_role("button", name="Replace the typed credentials").click()
    expect(page.get_by_role("status").first).to_contain_text("odoo_api_key")
    expect(page.get_by_label("Replace odoo_api_key")).to_have_value("")
    assert "odoo-key-NEW-a1b2c3d4" not in page.content()

    after = get_config(api, tenant_id, config_type="credentials")
    assert after["version"] == 2
    assert after["data"]["odoo_api_key"].endswith("c3d4") and after["data"]["odoo_api_key"] != before["odoo_api_key"]
    assert after["data"]["chatwoot_api_access_token"] == before["chatwoot_api_access_token"]  # untouched
    expect(page.get_by_role("row").filter(has_text="odoo_api_key")).to_contain_text(after["data"]["odoo_api_key"])


def test_mappings_can_be_added_and_removed(
        page: Any, viewer_url: str, admin_key: str, api: httpx.Client, tenant_id: str) -> None:
    put_config(api, tenant_id, DEMO_CONFIG)
    account = 90_000 + int(tenant_id[-4:], 16) % 9_999
    sign_in(page, viewer_url, admin_key, "#/mappings")

    page.get_by_text("Add or update a mapping").click()
    page.get_by_label("Account", exact=True).fill(str(account))
    page.get_by_label("Inbox", exact=True).fill("12")
    page.get_by_label("Tenant", exact=True).fill(tenant_id)
    page.get_by_label("Domain", exact=True).fill("retail")
    page.get_by_label("Channel", exact=True).select_option("instagram")
    page.get_by_role("button", name="Save mapping").click()
    expect(page.get_by_role("status").first).to_contain_text("Mapping saved")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=tenant_id))
    expect(row).to_contain_text("instagram")
    mine = [m for m in api.get("/mapping").json()["mappings"] if m["tenant_id"] == tenant_id]
    assert [(m["chatwoot_account_id"], m["chatwoot_inbox_id"], m["channel"]) for m in mine] == [
        (account, 12, "instagram")]

    row.get_by_role("button", name=f"Delete {account} / 12").click()
    row.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("Mapping removed")
    expect(page.get_by_role("link", name=tenant_id)).to_have_count(0)
    assert not [m for m in api.get("/mapping").json()["mappings"] if m["tenant_id"] == tenant_id]


def test_vectorization_shows_collections_jobs_and_search(
        page: Any, viewer_url: str, admin_key: str, api: httpx.Client, tenant_id: str) -> None:
    put_config(api, tenant_id, DEMO_CONFIG)
    sign_in(page, viewer_url, admin_key, f"#/tenant/{tenant_id}/retail/vectorize")
    collections = page.locator("section", has=page.get_by_role("heading", name="Collections"))
    expect(collections.get_by_role("row").filter(has_text="products")).to_be_visible()
    expect(page.get_by_text("No recent jobs for this tenant.")).to_be_visible()


def test_a_missing_endpoint_shows_not_available_instead_of_breaking(
        page: Any, viewer_url: str, admin_key: str, api: httpx.Client, tenant_id: str) -> None:
    put_config(api, tenant_id, DEMO_CONFIG)
    missing = {"error": {"code": "not_found", "message": "no route for GET /collections"}}
    page.route("**/collections*", lambda route: route.fulfill(status=404, content_type="application/json",
                                                              body=json.dumps(missing)))
    page.route("**/vectorize/jobs*", lambda route: route.fulfill(status=404, content_type="application/json",
                                                                 body=json.dumps(missing)))
    sign_in(page, viewer_url, admin_key, f"#/tenant/{tenant_id}/retail/vectorize")
    expect(page.get_by_text("Not available on this server (404).")).to_have_count(2)
    page.get_by_role("link", name="Configuration").click()  # the rest keeps working
    expect(page.get_by_label("Company name")).to_have_value("Sandra Cosméticos")


def test_portuguese_labels_on_a_phone_and_the_language_toggle(
        phone_page: Any, viewer_url: str, admin_key: str, api: httpx.Client, tenant_id: str) -> None:
    page = phone_page
    put_config(api, tenant_id, DEMO_CONFIG)
    page.goto(viewer_url + f"#/tenant/{tenant_id}/retail/config")
    expect(page.get_by_role("heading", name="Entrar")).to_be_visible()
    page.get_by_label("Chave de administrador").fill(admin_key)
    page.get_by_role("button", name="Entrar").click()

    expect(page.get_by_label("Nome da empresa")).to_have_value("Sandra Cosméticos")
    expect(page.get_by_role("link", name="Histórico")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "pt-BR"
    # One column: nothing wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    save_box = page.get_by_role("button", name="Salvar").bounding_box()
    assert save_box and save_box["width"] >= 44 and save_box["height"] >= 40  # a finger-sized target

    page.get_by_label("Saudação").fill("Olá! Mudança feita pelo celular.")
    page.get_by_role("button", name="English").click()  # what was typed survives the switch
    expect(page.get_by_label("Company name")).to_be_visible()
    expect(page.get_by_label("Greeting")).to_have_value("Olá! Mudança feita pelo celular.")
    assert page.evaluate("document.documentElement.lang") == "en"

    page.get_by_role("link", name="Tenants", exact=True).click()
    expect(page.get_by_role("heading", name="Tenants", exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


PRODUCTS = [
    {"id": 1, "text": "Gel de Limpeza Facial Pele Oleosa com chá verde e ácido salicílico. Preço: R$ 59,90.",
     "metadata": {"sku": "GEL-LIMP-001", "price": 59.9}},
    {"id": 10, "text": "Protetor Solar Facial FPS 50 com proteção UVA/UVB para uso diário. Preço: R$ 89,90.",
     "metadata": {"sku": "PROT-50-001", "price": 89.9}},
    {"id": 3, "text": "Sabonete Facial em Barra Pele Seca com manteiga de karité. Preço: R$ 39,90.",
     "metadata": {"sku": "SAB-LIMP-003", "price": 39.9}},
]


@pytest.mark.slow
def test_recent_jobs_and_retrieval_as_the_bot_would(
        page: Any, viewer_url: str, admin_key: str, api: httpx.Client, tenant_id: str) -> None:
    put_config(api, tenant_id, DEMO_CONFIG)
    response = api.post("/vectorize", json={"tenant_id": tenant_id, "collection": "products", "records": PRODUCTS})
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]

    sign_in(page, viewer_url, admin_key, f"#/tenant/{tenant_id}/retail/vectorize")
    jobs = page.locator("section", has=page.get_by_role("heading", name="Recent jobs"))
    row = jobs.get_by_role("row").filter(has_text=job_id)
    expect(row).to_be_visible()
    # The job runs in the background; Refresh until the viewer shows it finished.
    for _ in range(120):
        if "done" in row.inner_text():
            break
        page.wait_for_timeout(500)
        jobs.get_by_role("button", name="Refresh").click()
    expect(row).to_contain_text("done")
    expect(row).to_contain_text("3 / 3")

    page.get_by_label("Collection", exact=True).select_option("products")
    page.get_by_label("Question").fill("vocês têm protetor solar?")
    page.get_by_role("button", name="Search").click()
    first = page.locator("ol.results > li").first
    expect(first).to_contain_text("FPS 50", timeout=60_000)
    expect(first).to_contain_text("PROT-50-001")


def test_new_tenant_and_a_rejected_mapping_show_errors_at_the_field(
        page: Any, viewer_url: str, admin_key: str, api: httpx.Client, tenant_id: str) -> None:
    sign_in(page, viewer_url, admin_key)
    page.get_by_text("New tenant").click()
    form = page.locator("form", has=page.get_by_role("button", name="Create tenant"))
    form.get_by_label("Tenant", exact=True).fill(tenant_id)
    form.get_by_label("Domain", exact=True).fill("retail")
    form.get_by_role("button", name="Create tenant").click()  # no company name: the API refuses it
    expect(form.locator('.field[data-path="company.name"] .field-error')).to_be_visible()
    assert api.get(f"/configs/{tenant_id}/retail/config").status_code == 404

    form.get_by_label("Company name").fill("Móveis Elegantes")
    form.get_by_role("button", name="Create tenant").click()
    expect(page.get_by_role("heading", name=tenant_id)).to_be_visible()
    expect(page.get_by_label("Company name")).to_have_value("Móveis Elegantes")
    expect(page.locator(".version-line")).to_contain_text("Version 1")

    page.get_by_text("Chatwoot inboxes of this tenant").click()
    page.get_by_text("Add or update a mapping").click()
    expect(page.get_by_label("Tenant", exact=True)).to_have_value(tenant_id)  # filled in for this tenant
    page.get_by_label("Account", exact=True).fill("0")  # accounts start at 1
    page.get_by_role("button", name="Save mapping").click()
    account = page.locator('.field[data-path="chatwoot_account_id"]')
    expect(account.locator(".field-error")).to_be_visible()
    expect(page.get_by_label("Account", exact=True)).to_have_attribute("aria-invalid", "true")
    assert not [m for m in api.get("/mapping").json()["mappings"] if m["tenant_id"] == tenant_id]
