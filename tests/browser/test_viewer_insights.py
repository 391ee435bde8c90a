"""The business owner's view in the browser, on real conversations the local stack answered: a conversation's trace
opens, the playground answers a question from the tenant's data, the dashboard draws the numbers, on a desktop and
on a phone, and axe-core finds nothing. With VIEWER_SCREENSHOTS=1 the tests also save the README's screenshots
(docs/viewer/*.png)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from support.insights_shop import shared_shop
from viewer_pages import sign_in, violations

pytestmark = pytest.mark.browser
DOCS = Path(__file__).resolve().parents[2] / "docs" / "viewer"


@pytest.fixture(scope="module")
def shop(cloud: Any) -> dict[str, Any]:
    return shared_shop(cloud)  # the one the API tests read, when they ran in this session


def screenshot(page: Any, name: str) -> None:
    if os.environ.get("VIEWER_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)


def tab(shop: dict[str, Any], name: str, extra: str = "") -> str:
    return f"#/tenant/{shop['id']}/default/{name}" + (f"/{extra}" if extra else "")


def test_a_conversations_trace_opens(page: Any, viewer_url: str, admin_key: str, shop: dict[str, Any]) -> None:
    sign_in(page, viewer_url, admin_key, tab(shop, "conversations"))
    rows = page.locator("#conv-list tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text="with a human")).to_have_count(2)
    page.get_by_label("Status").select_option("human")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    page.get_by_label("Status").select_option("")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(3)
    page.get_by_role("link", name=f"Conversation {shop['account']}/1").click()
    bubbles = page.locator(".chat .bubble")
    expect(bubbles).to_have_count(2)
    expect(bubbles.first).to_contain_text("tênis azul runner")
    trace = bubbles.last.locator("details.trace")
    expect(trace.locator(".sources")).to_be_hidden()
    trace.locator("summary").click()
    expect(trace.locator(".sources")).to_contain_text("azul-42")
    expect(trace.locator(".sources")).to_contain_text("internal (text hidden from customers)")
    expect(trace).to_contain_text("odoo")  # skipped, and why
    screenshot(page, "conversation")
    page.goto(viewer_url + tab(shop, "conversations", f"{shop['account']}-2"))
    handoff = page.locator(".chat .bubble").last.locator("details.trace")
    handoff.locator("summary").click()
    expect(handoff).to_contain_text("the customer asked for a human")


def test_the_playground_answers_a_question_and_shows_why(page: Any, viewer_url: str, admin_key: str,
                                                         shop: dict[str, Any]) -> None:
    sign_in(page, viewer_url, admin_key, tab(shop, "playground"))
    page.locator("#play-channel").select_option("instagram")
    page.get_by_label("Message", exact=True).fill("Qual o preço do tênis azul runner 42?")
    page.get_by_role("button", name="Send").click()
    answer = page.locator(".chat .bubble.assistant").last
    expect(answer).to_contain_text("299,90", timeout=60_000)
    expect(answer.locator("details.trace")).to_have_attribute("open", "")
    expect(answer.locator(".sources")).to_contain_text("azul-42")
    expect(answer.locator(".trace-meta")).to_contain_text("instagram")
    screenshot(page, "playground")
    page.get_by_label("Message", exact=True).fill("quero uma atendente")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".chat .bubble.assistant")).to_have_count(2)
    expect(page.locator(".chat .bubble.assistant").last).to_contain_text("Vou chamar uma atendente.")
    page.get_by_role("button", name="Start over").click()
    expect(page.locator(".chat")).to_have_count(0)


def test_the_dashboard_draws_the_real_numbers(page: Any, viewer_url: str, admin_key: str,
                                              shop: dict[str, Any]) -> None:
    sign_in(page, viewer_url, admin_key, tab(shop, "metrics"))
    tiles = page.locator(".tiles .tile")
    expect(tiles.filter(has_text="Turns").locator("dd")).to_have_text("3")
    expect(tiles.filter(has_text="Answered").locator("dd")).to_have_text("1")
    expect(tiles.filter(has_text="Handed off").locator("dd")).to_have_text("2")
    charts = page.locator("figure.chart svg[role=img]")
    expect(charts).to_have_count(3)
    turns_chart = charts.first
    # Today's bar, stacked: one answered, two handed off.
    expect(turns_chart.locator("rect.bar.s-answered")).to_have_count(1)
    expect(turns_chart.locator("rect.bar.s-handoff")).to_have_count(1)
    expect(turns_chart.locator("rect.bar.s-handoff title")).to_contain_text("Handed off: 2")
    expect(charts.nth(1).locator("circle.dot")).to_have_count(2)  # today's median and 95th percentile
    expect(page.locator(".metrics table tbody tr").first).to_contain_text(
        "the customer asked for a human: 1; nothing in the data answers it: 1")
    screenshot(page, "metrics")
    page.get_by_label("Period").select_option("30")
    expect(page.locator(".metrics table tbody tr")).to_have_count(30)


def test_the_views_fit_a_phone(phone_page: Any, viewer_url: str, admin_key: str, shop: dict[str, Any]) -> None:
    page = phone_page
    page.goto(viewer_url + tab(shop, "conversations", f"{shop['account']}-1"))
    page.locator("#signin-key").fill(admin_key)
    page.locator("#signin-key").press("Enter")
    page.locator(".chat .bubble").first.wait_for()
    page.locator(".chat details.trace summary").click()
    for route in (tab(shop, "conversations"), tab(shop, "conversations", f"{shop['account']}-1"),
                  tab(shop, "metrics"), tab(shop, "playground")):
        page.goto(viewer_url + route)
        page.locator("h2").first.wait_for()
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{route} is {overflow}px wider than the phone"
    expect(page.get_by_role("link", name="Métricas")).to_be_visible()  # a pt-BR phone


def test_the_new_views_pass_wcag_aa_checks(page: Any, viewer_url: str, admin_key: str, shop: dict[str, Any],
                                           axe_source: str) -> None:
    sign_in(page, viewer_url, admin_key, tab(shop, "conversations"))
    page.locator("#conv-list table").wait_for()
    found = {"conversations": violations(page, axe_source)}
    page.goto(viewer_url + tab(shop, "conversations", f"{shop['account']}-1"))
    page.locator(".chat details.trace summary").click()
    found["conversation with an open trace"] = violations(page, axe_source)
    page.goto(viewer_url + tab(shop, "metrics"))
    page.locator("figure.chart").first.wait_for()
    found["metrics"] = violations(page, axe_source)
    page.goto(viewer_url + tab(shop, "playground"))
    page.get_by_label("Message", exact=True).fill("Vocês têm sandália?")
    page.get_by_role("button", name="Send").click()
    page.locator(".chat .bubble.assistant").wait_for(timeout=60_000)
    found["playground"] = violations(page, axe_source)
    assert {view: v for view, v in found.items() if v} == {}
