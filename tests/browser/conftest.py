"""Browser tests: Debian's headless Chromium driven by Playwright against the whole local stack (`cloud`).

Never `playwright install`: the browser is /usr/bin/chromium (scripts/install-chromium.sh). Without it the tests skip.
A failing test leaves a full-page screenshot in tests/browser/screenshots/ (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run",
               "--disable-gpu"]
SCREENSHOTS = Path(__file__).parent / "screenshots"
TIMEOUT_MS = 15_000


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in this thread while it is open,
# which would break every later test that calls asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (scripts/install-chromium.sh) "
                    "to run the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core, as shipped inside the axe-playwright-python package (viewer_pages.violations runs it)."""
    package = pytest.importorskip("axe_playwright_python", reason="axe-playwright-python (ships axe-core) is absent")
    return (Path(package.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def stack_url(cloud: Any) -> str:
    return str(cloud.url)


@pytest.fixture(scope="session")
def admin_key(cloud: Any) -> str:
    return str(cloud.admin_key)


@pytest.fixture
def viewer_url(stack_url: str) -> str:
    return f"{stack_url}/viewer/"


@pytest.fixture
def api(stack_url: str, admin_key: str) -> Iterator[httpx.Client]:
    """The API as a script would call it, to seed data and to check what the viewer wrote."""
    with httpx.Client(base_url=stack_url, headers={"X-Api-Key": admin_key}, timeout=30) as client:
        yield client


def _new_page(browser: Any, request: pytest.FixtureRequest, **context_args: Any) -> Iterator[Any]:
    context = browser.new_context(**{"locale": "en-US", "viewport": {"width": 1280, "height": 900}, **context_args})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    js_errors: list[str] = []
    page.on("pageerror", lambda exc: js_errors.append(str(exc)))
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    context.close()
    assert not js_errors, f"JavaScript errors in the viewer: {js_errors}"


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser tab (own session storage) in English on a desktop screen."""
    yield from _new_page(browser, request)


@pytest.fixture
def phone_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh tab on a phone-sized screen, in Brazilian Portuguese."""
    yield from _new_page(browser, request, locale="pt-BR", viewport={"width": 390, "height": 844},
                         is_mobile=True, has_touch=True, device_scale_factor=2)
