"""Documents' lifecycle (issue 16, finding 8), through the local stack over HTTP.

On main: there was no DELETE of a document (404 "no route"), every credentials version was kept (and readable
through ?version=n) forever, and a version did not say who wrote it. Now: DELETE writes a tombstone version (GET
answers 404 saying so; the earlier versions stay and a PUT of one restores it), credentials keep their last
CONFIG_CREDENTIAL_VERSIONS (10) versions, and each version records `written_by` ("admin", "viewer" with
`X-Client: viewer`, "odoo-webhook").
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx

from chatwoot_ai.signing import ODOO, sign
from devtools.chatwoot_payloads import incoming, signed
from devtools.doubles import ChatwootStub


def test_delete_writes_a_tombstone_that_a_put_of_an_earlier_version_restores(cloud: Any) -> None:
    tenant = "t_doc_" + uuid.uuid4().hex[:8]
    admin = {"X-Api-Key": cloud.admin_key}
    base = f"{cloud.url}/configs/{tenant}/default/config"
    with ChatwootStub() as stub, httpx.Client(timeout=30, headers=admin) as http:
        first = {"company": {"name": "Padaria Pão Quente"}, "enabled_collections": [],
                 "chatwoot": {"base_url": stub.url}, "handoff": {"keywords": [], "message": "Já chamo alguém."}}
        second = {**first, "assistant": {"name": "Bia"}}
        assert http.put(base, json=first).json()["written_by"] == "admin"
        assert http.put(base, json=second, headers={"X-Client": "viewer"}).json()["version"] == 2
        secret = "segredo-" + uuid.uuid4().hex
        http.put(f"{base[:-len('config')]}credentials", json={"chatwoot_webhook_secret": secret}).raise_for_status()
        http.put(f"{cloud.url}/mapping", json={"mappings": [{"chatwoot_account_id": 610_000 + int(time.time()) % 9999,
                                                             "tenant_id": tenant}]}).raise_for_status()
        account = http.get(f"{cloud.url}/mapping").json()["mappings"]
        account_id = next(m["chatwoot_account_id"] for m in account if m["tenant_id"] == tenant)

        deleted = http.delete(base, headers={"If-Match": "2"})
        assert deleted.status_code == 200, deleted.text
        assert (deleted.json()["version"], deleted.json()["deleted"], deleted.json()["data"]) == (3, True, {})
        assert http.delete(base, headers={"If-Match": "2"}).status_code == 412  # If-Match holds for deletes too
        gone = http.get(base)
        assert gone.status_code == 404
        assert "deleted in version 3" in gone.json()["error"]["message"]
        assert http.get(base, params={"version": 2}).json()["data"] == second  # the history stays
        versions = http.get(f"{base}/versions").json()["versions"]
        assert [(v["version"], v["written_by"], v["deleted"]) for v in versions] == [
            (3, "admin", True), (2, "viewer", False), (1, "admin", False)]
        assert tenant not in {t["tenant_id"] for t in http.get(f"{cloud.url}/configs").json()["tenants"]
                              if "config" in t["config_types"]}

        # The data plane sees the document gone: the tenant's webhooks are ignored, not answered.
        raw, headers = signed(incoming(account_id, 12, 5, int(time.time() * 1000), "Oi"), secret)
        deadline = time.monotonic() + 30
        while True:
            outcome = httpx.post(f"{cloud.url}/webhooks/chatwoot", content=raw, headers=headers, timeout=30).json()
            if outcome.get("reason") == "tenant not configured or disabled" or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert outcome == {"status": "ignored", "reason": "tenant not configured or disabled"}

        # Restore: the viewer's restore is a PUT of an earlier version's data.
        restored = http.put(base, json=http.get(base, params={"version": 2}).json()["data"])
        assert restored.json()["version"] == 4
        assert http.get(base).json()["data"] == second
        assert http.delete(f"{cloud.url}/configs/{tenant}/default/nothing").status_code == 404

        # Deleted credentials: the tenant's webhooks cannot be verified any more (401), whatever they are signed with.
        assert http.delete(f"{base[:-len('config')]}credentials").json()["deleted"] is True
        deadline = time.monotonic() + 30
        while True:
            raw, headers = signed(incoming(account_id, 12, 6, int(time.time() * 1000), "Oi de novo"), secret)
            refused = httpx.post(f"{cloud.url}/webhooks/chatwoot", content=raw, headers=headers, timeout=30)
            if refused.status_code == 401 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert refused.status_code == 401, refused.text


def test_credentials_keep_their_last_ten_versions_and_say_who_wrote_them(cloud: Any) -> None:
    tenant = "t_cred_" + uuid.uuid4().hex[:8]
    admin = {"X-Api-Key": cloud.admin_key}
    base = f"{cloud.url}/configs/{tenant}/default/credentials"
    odoo_secret = "ows-" + uuid.uuid4().hex
    with httpx.Client(timeout=30, headers=admin) as http:
        http.put(base, json={"odoo_webhook_secret": odoo_secret}).raise_for_status()
        for n in range(11):
            http.put(base, json={"llm_api_key": f"sk-versao-{n}-{uuid.uuid4().hex}"}).raise_for_status()
        body = json.dumps({"delivery_id": uuid.uuid4().hex, "tenant_id": tenant,
                           "documents": {"credentials": {"vectorize_token": "vt-" + uuid.uuid4().hex}}}).encode()
        stamp = str(int(time.time()))
        delivered = httpx.post(f"{cloud.url}/odoo-webhook", content=body, timeout=30, headers={
            "Content-Type": "application/json", ODOO.timestamp_header: stamp,
            ODOO.signature_header: sign(odoo_secret, stamp, body)})
        assert delivered.status_code == 200, delivered.text

        versions = http.get(f"{base}/versions").json()["versions"]
        assert [v["version"] for v in versions] == list(range(13, 3, -1))  # 13 written, the last 10 kept
        assert versions[0]["written_by"] == "odoo-webhook"
        assert {v["written_by"] for v in versions[1:]} == {"admin"}
        assert http.get(base, params={"version": 3}).status_code == 404  # deleted, not merely hidden
        assert http.get(base, params={"version": 4}).status_code == 200
        current = http.get(base).json()
        assert current["version"] == 13 and set(current["data"]) == {"odoo_webhook_secret", "llm_api_key",
                                                                    "vectorize_token"}
