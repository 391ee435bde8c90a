"""The demo tenant `make run` loads: Sandra Cosméticos (pt-BR demo store), wired to a demo Odoo (the Odoo double) and
a demo Chatwoot (a stub that prints every reply), so a signed webhook gets a real answer with no outside system.

Everything goes through the public API (Config API, POST /vectorize), as a user's script would. The doubles and the
demo store's records come from `devtools` (the repository root's dev package), never part of a deployed function.
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time
from typing import Any

import httpx

from localcloud.state import write_private
from localcloud.template import ROOT

DEMO_TENANT = "sandra"
DEMO_DOMAIN = "default"
DEMO_ACCOUNT = 1


def _devtools() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def _demo_config(chatwoot_url: str, odoo: Any) -> dict[str, Any]:
    store = json.loads((ROOT / "tests/fixtures/demo_store/tenant_config.json").read_text(encoding="utf-8"))
    meta = store["tenant_config"]["company_metadata"]
    hours = meta["business_hours"]
    return {
        "company": {"name": meta["company_info"]["company_name"], "language": "pt-BR",
                    "timezone": "America/Sao_Paulo"},
        "assistant": {"name": "Ana", "greeting": "Olá, obrigada por entrar em contato com a Sandra Cosméticos!",
                      "style": "friendly", "emoji_usage": "low"},
        "enabled": True,
        "enabled_collections": ["business_rules", "support_documents", "products"],
        "chatwoot": {"base_url": chatwoot_url},
        "llm": {"model": None},
        "odoo": {"url": odoo.url, "db": odoo.db, "username": odoo.username, "protocol": "xmlrpc",
                 "allow_write": False, "timeout_s": 10},
        "handoff": {"keywords": ["atendente", "humano", "pessoa"],
                    "message": "Vou chamar uma atendente para continuar com você."},
        "business_hours": {"days": hours["days"], "start": hours["start_time"], "end": hours["end_time"]},
    }


def _print_replies(stub: Any, stop: threading.Event) -> None:
    seen = 0
    while not stop.wait(0.3):
        calls = list(stub.calls)
        for call in calls[seen:]:
            label = {"message": "reply", "note": "private note", "toggle_status": "handoff"}.get(call.kind, call.kind)
            text = call.body.get("content") or call.body.get("status") or ""
            print(f"[demo chatwoot] conversation {call.conversation_id} {label}: {text}", flush=True)
        seen = len(calls)


def seed_demo(cloud: Any) -> str:
    """Loads the demo tenant into a started LocalCloud and returns what to print."""
    _devtools()
    from devtools.demo_store import corpus
    from devtools.doubles import ChatwootStub, OdooDouble

    odoo = OdooDouble().start()
    chatwoot = ChatwootStub().start()
    stop = threading.Event()
    threading.Thread(target=_print_replies, args=(chatwoot, stop), name="demo-chatwoot", daemon=True).start()

    def _stop_demo() -> None:
        stop.set()
        chatwoot.stop()
        odoo.stop()

    cloud.on_stop(_stop_demo)

    secrets_file = cloud.data_dir / "demo-credentials.json"
    creds = json.loads(secrets_file.read_text()) if secrets_file.is_file() else {
        "chatwoot_api_access_token": secrets.token_urlsafe(18),
        "chatwoot_webhook_secret": secrets.token_urlsafe(24),
        "vectorize_token": secrets.token_urlsafe(24),
    }
    creds["odoo_api_key"] = odoo.api_key
    write_private(secrets_file, json.dumps(creds, indent=2))

    admin = {"X-Api-Key": cloud.admin_key}
    base = f"{cloud.url}/configs/{DEMO_TENANT}/{DEMO_DOMAIN}"
    with httpx.Client(timeout=30) as http:
        stored = http.get(f"{base}/config", headers=admin)
        if stored.status_code == 200:  # a restart: keep the user's edits, point the tenant at today's doubles
            return _reconnect(http, base, admin, stored.json()["data"], chatwoot.url, odoo, secrets_file)
        for doc_type, body in (("config", _demo_config(chatwoot.url, odoo)), ("credentials", creds)):
            response = http.put(f"{base}/{doc_type}", json=body, headers=admin)
            response.raise_for_status()
        http.put(f"{cloud.url}/mapping", headers=admin, json={"mappings": [{
            "chatwoot_account_id": DEMO_ACCOUNT, "chatwoot_inbox_id": None, "tenant_id": DEMO_TENANT,
            "domain": DEMO_DOMAIN, "channel": None}]}).raise_for_status()
        jobs = []
        bearer = {"Authorization": f"Bearer {creds['vectorize_token']}"}
        for collection, records in corpus().items():
            response = http.post(f"{cloud.url}/vectorize", headers=bearer,
                                 json={"tenant_id": DEMO_TENANT, "collection": collection, "records": records})
            response.raise_for_status()
            jobs.append(response.json()["job_id"])
        done = _wait_for_jobs(http, cloud.url, admin, jobs)
    return "\n".join([
        f"demo tenant '{DEMO_TENANT}' (Sandra Cosméticos) loaded: Chatwoot account {DEMO_ACCOUNT}, every inbox",
        f"  demo Odoo       {odoo.url} (db {odoo.db})",
        f"  demo Chatwoot   {chatwoot.url} (replies are printed here)",
        f"  vectorize jobs  {done}",
        f"  secrets         {secrets_file}",
        "  try it          .venv/bin/python scripts/demo_message.py \"Vocês têm protetor solar? Qual o preço?\"",
        f"  started at      {time.strftime('%H:%M:%S')}",
    ])


def _reconnect(http: httpx.Client, base: str, admin: dict[str, str], config: dict[str, Any], chatwoot_url: str,
               odoo: Any, secrets_file: Any) -> str:
    """The demo tenant exists (restored state): only the doubles' addresses change, as one new config version."""
    wanted = dict(config)
    for section, url in (("chatwoot", chatwoot_url), ("odoo", odoo.url)):
        current = config.get(section)
        if isinstance(current, dict) and str(current.get("url" if section == "odoo" else "base_url", "")).startswith(
                "http://127.0.0.1:"):  # still the demo's double, not a system the user connected
            wanted[section] = {**current, ("url" if section == "odoo" else "base_url"): url}
    if wanted != config:
        http.put(f"{base}/config", json=wanted, headers=admin).raise_for_status()
    return "\n".join([
        f"demo tenant '{DEMO_TENANT}' (Sandra Cosméticos) restored with its vectors, config and conversations",
        f"  demo Odoo       {odoo.url} (db {odoo.db})",
        f"  demo Chatwoot   {chatwoot_url} (replies are printed here)",
        f"  secrets         {secrets_file}",
        "  try it          .venv/bin/python scripts/demo_message.py \"Vocês têm protetor solar? Qual o preço?\"",
    ])


def _wait_for_jobs(http: httpx.Client, url: str, admin: dict[str, str], jobs: list[str], timeout_s: float = 180
                   ) -> str:
    """The demo is loaded once its documents are searchable: /health says ready only then."""
    deadline = time.monotonic() + timeout_s
    status: dict[str, str] = {}
    while time.monotonic() < deadline:
        status = {job: http.get(f"{url}/vectorize/jobs/{job}", headers=admin).json().get("status", "?")
                  for job in jobs}
        if all(s in ("done", "failed") for s in status.values()):
            break
        time.sleep(0.25)
    return ", ".join(f"{job} {state}" for job, state in status.items())
