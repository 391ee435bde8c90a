"""Paths of the viewer the other browser tests do not walk: a key refused in the middle of a session, the tenant
filter with no match, and JSON that does not parse when switching back to the form."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from viewer_pages import DEMO_CONFIG, put_config, sign_in

pytestmark = pytest.mark.browser


def test_filter_without_match_then_a_key_refused_mid_session_returns_to_sign_in(
        page: Any, viewer_url: str, admin_key: str, api: httpx.Client, tenant_id: str) -> None:
    put_config(api, tenant_id, DEMO_CONFIG)
    sign_in(page, viewer_url, admin_key)
    page.get_by_label("Filter tenants").fill("no-such-tenant-zz")
    expect(page.get_by_text("No tenant matches “no-such-tenant-zz”.")).to_be_visible()

    page.evaluate("sessionStorage.setItem('viewer.adminKey', 'not-the-key')")  # e.g. the key was rotated
    page.get_by_role("button", name="Refresh").click()
    expect(page.get_by_role("alert")).to_have_text("The key was refused; please sign in again.")
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('viewer.adminKey')") is None


def test_json_that_does_not_parse_keeps_the_json_view(
        page: Any, viewer_url: str, admin_key: str, api: httpx.Client, tenant_id: str) -> None:
    put_config(api, tenant_id, DEMO_CONFIG)
    sign_in(page, viewer_url, admin_key, f"#/tenant/{tenant_id}/retail/config")
    page.get_by_role("radio", name="JSON").check()
    page.get_by_label("Document (JSON)").fill("[1, 2]")
    page.get_by_role("radio", name="Form").click()  # refused: the radio goes back to JSON

    expect(page.get_by_role("alert")).to_have_text("The document must be a JSON object.")
    expect(page.get_by_role("radio", name="JSON")).to_be_checked()
    expect(page.get_by_label("Document (JSON)")).to_have_value("[1, 2]")
