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
    secrets_file.write_text(json.dumps(creds, indent=2))
    secrets_file.chmod(0o600)

    admin = {"X-Api-Key": cloud.admin_key}
    base = f"{cloud.url}/configs/{DEMO_TENANT}/{DEMO_DOMAIN}"
    with httpx.Client(timeout=30) as http:
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
            jobs.append(f"{collection}={response.json()['job_id']}")
    return "\n".join([
        f"demo tenant '{DEMO_TENANT}' (Sandra Cosméticos) loaded: Chatwoot account {DEMO_ACCOUNT}, every inbox",
        f"  demo Odoo       {odoo.url} (db {odoo.db})",
        f"  demo Chatwoot   {chatwoot.url} (replies are printed here)",
        f"  vectorize jobs  {', '.join(jobs)}",
        f"  secrets         {secrets_file}",
        "  try it          .venv/bin/python scripts/demo_message.py \"Vocês têm protetor solar? Qual o preço?\"",
        f"  started at      {time.strftime('%H:%M:%S')}",
    ])
