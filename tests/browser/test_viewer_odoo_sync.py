"""The vectorize view shows the scheduled Odoo sync (when it last ran, what it read) and each job's kind."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from viewer_pages import DEMO_CONFIG, put_config, sign_in

pytestmark = pytest.mark.browser


def test_the_odoo_sync_and_job_kinds_show_in_the_vectorize_view(
        page: Any, viewer_url: str, admin_key: str, api: httpx.Client, tenant_id: str) -> None:
    put_config(api, tenant_id, DEMO_CONFIG)
    body = {"jobs": [{"job_id": "j-sync", "tenant_id": tenant_id, "collection": "products", "kind": "odoo_sync",
                      "status": "done", "total": 2, "processed": 1, "failed": 0, "errors": [],
                      "updated_at": "2026-11-30T12:00:00Z"},
                     {"job_id": "j-push", "tenant_id": tenant_id, "collection": "products", "kind": "push",
                      "status": "done", "total": 1, "processed": 1, "failed": 0, "errors": [],
                      "updated_at": "2026-11-30T11:00:00Z"}],
            "odoo_sync": {"domain": "default", "last_sync_at": "2026-11-30T12:00:00Z", "last_full": False,
                          "last_read": {"product.template": 1, "product.product": 2}, "sync_interval_min": 15}}
    page.route("**/vectorize/jobs?*", lambda route: route.fulfill(status=200, content_type="application/json",
                                                                  body=json.dumps(body)))
    sign_in(page, viewer_url, admin_key, f"#/tenant/{tenant_id}/retail/vectorize")
    jobs = page.locator("section", has=page.get_by_role("heading", name="Recent jobs"))
    expect(jobs.get_by_text("Odoo sync: last run")).to_contain_text("(incremental, 3 records read), every 15 min.")
    expect(jobs.get_by_role("row").filter(has_text="j-sync")).to_contain_text("products · odoo_sync")
    expect(jobs.get_by_role("row").filter(has_text="j-push")).not_to_contain_text("·")


def test_the_odoo_webhook_url_is_created_shown_once_and_works(
        page: Any, viewer_url: str, admin_key: str, api: httpx.Client, tenant_id: str) -> None:
    put_config(api, tenant_id, DEMO_CONFIG)
    sign_in(page, viewer_url, admin_key, f"#/tenant/{tenant_id}/retail/vectorize")
    hook = page.locator("section", has=page.get_by_role("heading", name="Odoo webhook URL"))
    expect(hook).to_contain_text("No webhook URL yet.", timeout=30_000)
    hook.get_by_role("button", name="Create URL").click()
    expect(hook).to_contain_text("Copy it now: it is shown only once.")
    url = hook.locator("code.hook-url").inner_text()
    assert "/vectorize/odoo/oh_" in url

    body = {"_model": "product.product", "_id": 110, "_action": "Atualizar variante no bot(#44)", "id": 110,
            "name": "Protetor Solar Facial FPS 50", "lst_price": 89.9, "active": True}
    accepted = httpx.post(url, content=json.dumps(body, sort_keys=True), timeout=60,
                          headers={"Content-Type": "application/json"})
    assert accepted.status_code == 202 and accepted.json()["tenant_id"] == tenant_id, accepted.text

    hook.get_by_role("button", name="Done").click()
    expect(hook).to_contain_text(f"ends in ****{url[-4:]}")
    expect(hook.locator("code.hook-url")).to_have_count(0)  # never shown again
    hook.get_by_role("button", name="Rotate URL (the current one stops working)").click()
    rotated = hook.locator("code.hook-url").inner_text()
    assert rotated != url
    assert httpx.post(url, content=json.dumps(body), timeout=60).status_code == 401
