"""CORS on the API: the viewer's origin (the stack's ViewerOrigin) only. Checked over HTTP and from a real browser
page on another origin, which must not be able to read the API even with the right key."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from viewer_pages import sign_in

pytestmark = pytest.mark.browser

EVIL = "https://evil.example.com"


def test_preflight_and_responses_allow_the_viewer_origin_only(stack_url: str, admin_key: str) -> None:
    headers = {"Access-Control-Request-Method": "PUT",
               "Access-Control-Request-Headers": "x-api-key,if-match,x-client"}
    with httpx.Client(base_url=stack_url, timeout=30) as client:
        refused = client.options("/configs/t/retail/config", headers={"Origin": EVIL, **headers})
        assert refused.status_code >= 400
        assert "access-control-allow-origin" not in refused.headers

        allowed = client.options("/configs/t/retail/config", headers={"Origin": stack_url, **headers})
        assert allowed.status_code in (200, 204)
        assert allowed.headers["access-control-allow-origin"] == stack_url
        assert "x-api-key" in allowed.headers["access-control-allow-headers"].lower()
        assert "if-match" in allowed.headers["access-control-allow-headers"].lower()
        assert "x-client" in allowed.headers["access-control-allow-headers"].lower()  # the viewer labels its writes

        response = client.get("/configs", headers={"Origin": EVIL, "X-Api-Key": admin_key})
        assert "access-control-allow-origin" not in response.headers
        response = client.get("/configs", headers={"Origin": stack_url, "X-Api-Key": admin_key})
        assert response.headers["access-control-allow-origin"] == stack_url


class _Blank(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>another site</title><p>another site</p>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def other_origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Blank)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


FETCH = """async ([url, key]) => {
  try {
    const response = await fetch(url + "/configs", {headers: {"X-Api-Key": key}});
    return "read " + response.status;
  } catch (err) {
    return "blocked";
  }
}"""


def test_a_page_on_another_origin_cannot_read_the_api(
        page: Any, other_origin: str, stack_url: str, viewer_url: str, admin_key: str) -> None:
    page.goto(other_origin + "/")
    assert page.evaluate(FETCH, [stack_url, admin_key]) == "blocked"

    sign_in(page, viewer_url, admin_key)  # the viewer's own origin reads it
    expect(page.get_by_role("heading", name="Tenants", exact=True)).to_be_visible()
    assert page.evaluate(FETCH, [stack_url, admin_key]) == "read 200"
