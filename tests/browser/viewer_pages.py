"""What the browser tests share: signing in, demo data (pt-BR), seeding and reading configs through the API."""

from __future__ import annotations

from typing import Any

import httpx

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def violations(page: Any, axe_source: str) -> list[str]:
    """WCAG 2.1 A/AA violations axe-core finds on the page (the `axe_source` fixture)."""
    page.evaluate(axe_source)  # through the devtools protocol: the page's CSP does not apply to the test's own code
    result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]]


def sign_in(page: Any, viewer_url: str, admin_key: str, route: str = "") -> None:
    """Opens the viewer (optionally at a `#/...` route) and signs in with the admin key, in English."""
    page.goto(viewer_url + route)
    page.get_by_label("Admin key").fill(admin_key)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


DEMO_CONFIG: dict[str, Any] = {
    "company": {"name": "Sandra Cosméticos", "language": "pt-BR", "timezone": "America/Sao_Paulo"},
    "assistant": {"name": "Ana", "greeting": "Olá! Sou a Ana, da Sandra Cosméticos.", "style": "friendly",
                  "emoji_usage": "low"},
    "enabled": True,
    "enabled_collections": ["business_rules", "support_documents", "products"],
    "chatwoot": {"base_url": "https://chat.sandracosmeticos.com.br"},
    "llm": {"model": "openai/gpt-4o-mini", "base_url": None, "temperature": 0.2},
    "odoo": {"url": "https://erp.sandracosmeticos.com.br", "db": "sandra", "username": "bot@sandracosmeticos.com.br"},
    "handoff": {"keywords": ["atendente", "humano"], "message": "Vou chamar uma atendente."},
    "business_hours": {"days": [0, 1, 2, 3, 4, 5], "start": "09:00", "end": "18:00"},
}


def put_config(api: httpx.Client, tenant_id: str, data: dict[str, Any], domain: str = "retail",
               config_type: str = "config") -> int:
    response = api.put(f"/configs/{tenant_id}/{domain}/{config_type}", json=data)
    assert response.status_code in (200, 201), response.text
    return int(response.json()["version"])


def get_config(api: httpx.Client, tenant_id: str, domain: str = "retail", config_type: str = "config",
               version: int | None = None) -> dict[str, Any]:
    params = {"version": str(version)} if version else None
    response = api.get(f"/configs/{tenant_id}/{domain}/{config_type}", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())
