"""The developer's loop, run as a developer runs it (each command a process of its own, on a data folder of the
test's own): `localcloud invoke` for each kind of trigger on the state `make run` keeps; a restart keeps configs,
mappings, versions, jobs and vectors, a `kill -9` loses at most a snapshot interval, and `reset` empties both the
emulated cloud and the vectors; the demo script finds a stack on another port and gets a reply."""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"


def _event(name: str) -> str:
    return (EVENTS / f"{name}.json").read_text(encoding="utf-8")


def _body(result: dict[str, Any]) -> Any:
    return json.loads(result["body"])


def _saved_messages(data: Path, queue: str) -> list[dict[str, Any]]:
    state = json.loads((data / "state" / "chatwoot-ai.json").read_text(encoding="utf-8"))
    return state["sqs"][queue]  # type: ignore[no-any-return]


def test_invoke_runs_each_kind_of_trigger_on_the_kept_state(tmp_path: Path, cli: Any) -> None:
    data = tmp_path / "local"

    # HTTP (API Gateway v2): a PUT in one invocation is there for the next one, as it will be for `make run`.
    status, put, err = cli.invoke(data, "ConfigApiFunction", _event("ConfigApiFunction-put-config"))
    assert status == 0, err
    assert put["statusCode"] == 200 and _body(put)["version"] == 1
    assert '"function_name":"ConfigApiFunction"' in err.replace(" ", "")  # its logs: on stderr, naming it
    assert "REPORT ConfigApiFunction" in err
    status, got, err = cli.invoke(data, "ConfigApiFunction",
                                  cli.generate("http", "GET", "/configs/loja_exemplo/default/config", "--admin"))
    assert status == 0, err
    assert _body(got)["data"]["company"]["name"] == "Loja Exemplo"

    # A signed Chatwoot webhook for a tenant's secret: accepted, and its job waits in the queue for `make run`.
    secret = "segredo-do-webhook-0123"
    for event in (
        cli.generate("http", "PUT", "/configs/loja_exemplo/default/credentials", "--admin",
                     "--body", json.dumps({"chatwoot_webhook_secret": secret, "chatwoot_api_access_token": "tok"})),
        cli.generate("http", "PUT", "/mapping", "--admin", "--body", json.dumps({"mappings": [{
            "chatwoot_account_id": 7, "chatwoot_inbox_id": None, "tenant_id": "loja_exemplo"}]})),
    ):
        status, result, err = cli.invoke(data, "ConfigApiFunction", event)
        assert status == 0 and result["statusCode"] == 200, (result, err)
    hook = cli.generate("webhook", "Oi! Vocês abrem no sábado?", "--secret", secret, "--account", "7",
                        "--inbox", "3", "--conversation", "12")
    status, accepted, err = cli.invoke(data, "WebhookReceiverFunction", hook)
    assert status == 0, err
    assert accepted["statusCode"] == 200, accepted
    queued = _saved_messages(data, "chatwoot-ai-conversations.fifo")
    assert [json.loads(m["body"])["content"] for m in queued] == ["Oi! Vocês abrem no sábado?"]
    assert queued[0]["group_id"] == "loja_exemplo:7:12"
    unsigned = cli.generate("webhook", "Oi", "--unsigned", "--account", "7", "--inbox", "3")
    assert cli.invoke(data, "WebhookReceiverFunction", unsigned)[1]["statusCode"] == 401

    # DynamoDB stream and EventBridge.
    status, published, err = cli.invoke(data, "ConfigStreamFunction", _event("ConfigStreamFunction"))
    assert (status, published) == (0, {"batchItemFailures": []}), err
    status, applied, err = cli.invoke(data, "WebhookReceiverFunction", _event("WebhookReceiverFunction-config-changed"))
    assert (status, applied) == (0, {}), err

    # SQS: the vectorize worker indexes a record; a search in another invocation finds it (the kept vectors).
    status, indexed, err = cli.invoke(data, "VectorizeWorkerFunction", _event("VectorizeWorkerFunction"))
    assert (status, indexed) == (0, {"batchItemFailures": []}), err
    # include_below_threshold: this checks that the vectors were kept; with one record in the collection the
    # relevance gate (calibrated on collections of dozens) does not call it relevant.
    search = cli.generate("http", "POST", "/search", "--admin", "--body", json.dumps({
        "tenant_id": "sandra", "collection": "business_rules", "query": "posso trocar um produto?",
        "include_below_threshold": True}))
    status, found, err = cli.invoke(data, "VectorizeApiFunction", search)
    assert status == 0, err
    assert [hit["id"] for hit in _body(found)["results"]] == ["troca-7-dias"]

    # A handler that raises: the error on stdout as Lambda reports it, exit status 1. An unknown function: 2.
    status, error, _ = cli.invoke(data, "ConfigStreamFunction", {"Records": [1]})
    assert status == 1 and error["errorType"] == "AttributeError" and error["stackTrace"]
    status, _, err = cli.invoke(data, "NoSuchFunction", {})
    assert status == 2 and "ConfigApiFunction" in err

    # The same through make, with the example event it picks by default.
    venv = Path(sys.executable).parent.parent
    made = cli.command("make", "-s", f"VENV={venv}", "invoke", "FN=ConfigApiFunction", LOCALCLOUD_DATA_DIR=str(data))
    assert made.returncode == 0, made.stderr
    assert [t["tenant_id"] for t in _body(json.loads(made.stdout))["tenants"]] == ["loja_exemplo"]


def test_a_restart_keeps_the_state_and_reset_empties_it(tmp_path: Path, cli: Any) -> None:
    data = tmp_path / "local"
    stack = cli.run(data, "--no-seed", LOCALCLOUD_SNAPSHOT_S="0.5")
    stack.wait_ready()
    key = (data / "admin-key").read_text().strip()
    admin = {"X-Api-Key": key}
    token = "token-da-loja-0123456789"
    with httpx.Client(base_url=stack.url, headers=admin, timeout=60) as api:
        for name in ("Loja Um", "Loja Dois"):
            assert api.put("/configs/loja/varejo/config", json={"company": {"name": name}}).status_code == 200
        assert api.put("/configs/loja/varejo/credentials", json={"vectorize_token": token}).status_code == 200
        assert api.put("/mapping", json={"mappings": [{"chatwoot_account_id": 55, "chatwoot_inbox_id": None,
                                                       "tenant_id": "loja", "domain": "varejo"}]}).status_code == 200
        job = api.post("/vectorize", headers={"Authorization": f"Bearer {token}"}, json={
            "tenant_id": "loja", "collection": "support_documents", "records": [
                {"id": "entrega", "text": "Entregamos em todo o Brasil em até 5 dias úteis."},
                {"id": "pix", "text": "Aceitamos Pix, boleto e cartão de crédito em até 6 vezes."}]}).json()["job_id"]
        assert _until(lambda: api.get(f"/vectorize/jobs/{job}").json()["status"] == "done")
    status, output = stack.stop()
    assert status == 0, output

    stack = cli.run(data, "--no-seed", LOCALCLOUD_SNAPSHOT_S="0.5")
    health = stack.wait_ready()
    assert health["restored"]["items"] > 0 and health["restored"]["keys"] == 1
    assert (data / "admin-key").read_text().strip() == key  # a signed-in viewer stays signed in
    with httpx.Client(base_url=stack.url, headers=admin, timeout=60) as api:
        assert api.get("/configs/loja/varejo/config").json()["data"] == {"company": {"name": "Loja Dois"}}
        assert [v["version"] for v in api.get("/configs/loja/varejo/config/versions").json()["versions"]] == [2, 1]
        assert api.get("/configs/loja/varejo/credentials").json()["data"] == {"vectorize_token": "****6789"}
        assert api.get("/mapping").json()["mappings"][0]["tenant_id"] == "loja"
        assert api.get(f"/vectorize/jobs/{job}").json()["processed"] == 2
        found = api.post("/search", headers={"Authorization": f"Bearer {token}"}, json={  # the key still decrypts
            "tenant_id": "loja", "collection": "support_documents", "query": "formas de pagamento",
            "include_below_threshold": True}).json()  # the vectors are what is checked, not the relevance gate
        assert found["results"][0]["id"] == "pix"
        # A kill -9 loses at most the last snapshot interval.
        assert api.put("/configs/loja/varejo/config", json={"company": {"name": "Loja Três"}}).status_code == 200
        snapshot = data / "state" / "chatwoot-ai.json"  # written every 0.5 s: killed within 2 s, version 3 is kept
        _until(lambda: snapshot.exists() and "Loja Tr" in snapshot.read_text(encoding="utf-8"), timeout=2)
    stack.stop(signal.SIGKILL)

    stack = cli.run(data, "--no-seed")
    stack.wait_ready()
    with httpx.Client(base_url=stack.url, headers=admin, timeout=60) as api:
        assert api.get("/configs/loja/varejo/config").json()["version"] == 3
    refused = cli.command(sys.executable, "-m", "localcloud", "reset", "--data-dir", str(data))
    assert refused.returncode == 1 and "stop it first" in refused.stderr
    assert stack.stop()[0] == 0

    emptied = cli.command(sys.executable, "-m", "localcloud", "reset", "--data-dir", str(data))
    assert emptied.returncode == 0, emptied.stderr
    stack = cli.run(data, "--no-seed")
    health = stack.wait_ready()
    assert health["restored"]["items"] == 0
    new_key = (data / "admin-key").read_text().strip()
    assert new_key != key
    with httpx.Client(base_url=stack.url, headers={"X-Api-Key": new_key}, timeout=60) as api:
        assert api.get("/configs/loja/varejo/config").status_code == 404
        assert api.get("/mapping").json()["mappings"] == []
        searched = api.post("/search", json={"tenant_id": "loja", "collection": "support_documents",
                                             "query": "formas de pagamento", "include_below_threshold": True})
        assert searched.status_code == 404 or searched.json()["results"] == []
    assert stack.stop()[0] == 0


def test_the_demo_on_another_port_replies_in_the_run_terminal_and_keeps_its_conversations(tmp_path: Path,
                                                                                           cli: Any) -> None:
    """Also: the stack's files are its owner's only (issue 16, finding 9), started from a developer's shell (umask
    022) on a data folder an earlier version left 0755: see _assert_private."""
    data = tmp_path / "local"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    previous = os.umask(0o022)
    try:
        stack = cli.run(data)
    finally:
        os.umask(previous)
    health = stack.wait_ready()
    assert health["demo"] == {"tenant": "sandra", "loaded": True}
    run = json.loads((data / "run.json").read_text())
    assert run["port"] == stack.port and run["url"] == stack.url
    assert stat.S_IMODE((data / "run.json").stat().st_mode) == 0o600  # removed at stop: checked while it runs

    def demo(*args: str) -> str:
        sent = cli.command(sys.executable, "scripts/demo_message.py", *args, LOCALCLOUD_DATA_DIR=str(data))
        assert sent.returncode == 0, sent.stderr
        return str(sent.stdout)

    assert demo("Oi! Vocês têm protetor solar? Qual o preço?").startswith("conversation 1:")
    assert demo("Quero falar com uma atendente").startswith("conversation 2:")  # a new one: a handoff stays there
    assert demo("--continue", "Obrigada!").startswith("conversation 2:")
    history = boto3.client("dynamodb", endpoint_url=run["endpoint_url"], region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    assert _until(lambda: _turns(history, "sandra", 1) >= 2, timeout=120)  # the customer's message and the reply
    status, output = stack.stop()
    assert status == 0, output
    lines = output.splitlines()
    assert any(line.startswith("[demo chatwoot] conversation 1 reply:") for line in lines), output
    assert "Protetor" in output.split("[demo chatwoot] conversation 1 reply:", 1)[1]
    assert any(line.startswith("[demo chatwoot] conversation 2 handoff") for line in lines)
    _assert_private(data)
    assert not [line for line in lines if line.startswith("{")]  # the JSON logs are in the files
    receiver_log = (data / "logs" / "WebhookReceiverFunction.log").read_text().splitlines()
    assert receiver_log and all(json.loads(line)["function_name"] == "WebhookReceiverFunction"
                                for line in receiver_log if line.startswith("{"))

    stack = cli.run(data)
    stack.wait_ready()
    run = json.loads((data / "run.json").read_text())
    history = boto3.client("dynamodb", endpoint_url=run["endpoint_url"], region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    assert _turns(history, "sandra", 1) >= 2  # conversations survive the restart
    assert demo("E para pele oleosa?").startswith("conversation 3:")
    assert stack.stop()[0] == 0


def _assert_private(data: Path) -> None:
    """On main before issue 16, `.local/` stayed 0755, the embedded Qdrant's files (the tenants' texts) were 0644 and
    the demo credentials file was written with the default mode and chmod-ed afterwards. Now the data folder is 0700,
    secret files are created 0600 (os.open with the mode) and `localcloud run|invoke` work under umask 077."""
    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(data) == 0o700, oct(mode(data))
    for secret in ("demo-credentials.json", "admin-key"):  # and run.json, while the stack runs
        assert mode(data / secret) == 0o600, (secret, oct(mode(data / secret)))
    assert any(p.is_file() for p in (data / "qdrant").rglob("*")), "the demo corpus was not embedded"
    assert list((data / "state").glob("*.json")), "no snapshot was written"
    for folder in ("qdrant", "state", "logs"):
        for path in [data / folder, *(data / folder).rglob("*")]:
            assert mode(path) & 0o077 == 0, (str(path.relative_to(data)), oct(mode(path)))


def _turns(client: Any, tenant_id: str, conversation_id: int) -> int:
    table = next(t for t in client.list_tables()["TableNames"] if t.endswith("-history"))
    items = client.scan(TableName=table)["Items"]  # pk: conv#{tenant}#{account}#{conversation} (demo account 1)
    return sum(1 for item in items if item["pk"]["S"] == f"conv#{tenant_id}#1#{conversation_id}"
               and item["sk"]["S"].startswith("turn#"))


def _until(check: Any, timeout: float = 90) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return bool(check())
