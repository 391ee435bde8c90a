"""The emulated cloud's moto in a process of its own: `python -m localcloud.motoserver [--host H] [--port P]`.

`cloud.start_moto()` starts it for `make run`, `localcloud invoke`, the tests' session and the bench, so moto's
requests do not share an interpreter (one GIL, one garbage collector) with the runner's gateway, pollers and embedded
Qdrant, or with a pytest session's heap. The process:
- applies the runner's patches to moto (below) and serves moto on the host and port given (0: a free one);
- announces itself with one JSON line on stdout, `{"url": ..., "pid": ...}`, once its socket listens; what it prints
  later goes to stderr (the runner's terminal);
- exits when its stdin reaches EOF: its parent closed it, or died (a `kill -9` of the runner leaves no moto behind);
- answers, besides moto's API, the routes under `/_localcloud/` (a path no AWS API uses: a bucket name cannot hold
  `_`) that read or change moto's in-memory state where only this process can (JSON in and out; an error is
  `{"error": {"code", "message"}}`):

      GET  /_localcloud/served         {"pid", "dynamodb_served", "dynamodb_writes"}
      POST /_localcloud/mark           {"names", "region"} -> {"mark"}: changes since the last save?
      POST /_localcloud/snapshot       {"path", "stack", "region", "names"} -> {"written"}: persist.py's save
      POST /_localcloud/restore-keys   {"data", "region"} -> {"keys"}
      POST /_localcloud/restore-data   {"data", "region", "names"} -> {"items", "tables", "messages", "skipped"}
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from localcloud import children

CONTROL = "/_localcloud/"

INFRA = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 60.0  # importing moto shares two cores with everything else (a test suite, cold starts)


class MotoProcess:
    """A running `python -m localcloud.motoserver`: its `url` and `pid`; `stop()` ends it (so does this process's
    end, whatever the way)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(INFRA), os.environ.get("PYTHONPATH")]))}
        # A session of its own: the terminal's Ctrl-C reaches the runner only, which still saves a last snapshot here.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localcloud.motoserver", "--host", host, "--port", str(port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, start_new_session=True)
        line = children.announcement(self.process, START_TIMEOUT_S)
        if line is None:
            self.stop()
            raise RuntimeError(f"moto's process did not start within {START_TIMEOUT_S:.0f} s "
                               f"(exit status {self.process.poll()}; its errors are above)")
        announced = json.loads(line)
        self.url: str = announced["url"]
        self.pid: int = announced["pid"]

    def stop(self, timeout_s: float = 10.0) -> None:
        children.stop(self.process, timeout_s)


def control(endpoint_url: str, route: str, body: dict[str, Any] | None = None, timeout_s: float = 120.0) -> Any:
    """Calls a `/_localcloud/` route of the moto process at `endpoint_url` (GET without a body, else POST);
    RuntimeError with the process's message when it fails."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(endpoint_url.rstrip("/") + CONTROL + route, data=data,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read())["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {exc.code}"
        raise RuntimeError(f"moto's process at {endpoint_url}: {route}: {message}") from exc


def _partition_queries() -> None:
    """moto 5.2's Table.query reads and sorts every item of the table for each base-table query, so each query gets
    slower as the table grows (a 2,000-message load run spent most of its time there). A base-table query only needs
    its partition: hand it just that bucket. Same results."""
    from moto.dynamodb.models.table import Table

    if getattr(Table, "_localcloud_partition_queries", False):
        return
    hint = threading.local()
    all_items, query = Table.all_items, Table.query

    def partition_items(self: Any) -> Any:
        key = getattr(hint, "hash_key", None)
        if key is None:
            return all_items(self)
        bucket = self.items.get(key)
        if bucket is None:
            return []
        if not self.range_key_attr:
            return [bucket]
        return sorted(list(bucket.values()), key=lambda item: item.range_key)

    def partition_query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name") or (args[6] if len(args) > 6 else None)
        if index_name or hash_key is None:
            return query(self, hash_key, *args, **kwargs)
        hint.hash_key = hash_key
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            hint.hash_key = None

    Table.all_items = partition_items  # type: ignore[method-assign]
    Table.query = partition_query  # type: ignore[method-assign]
    Table._localcloud_partition_queries = True  # type: ignore[attr-defined]


_DYNAMODB_WRITES = frozenset({
    "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems", "ExecuteStatement",
    "BatchExecuteStatement", "ExecuteTransaction", "CreateTable", "DeleteTable", "UpdateTable",
})


_dynamodb_served = 0  # DynamoDB requests served (accounting checks its counts against it: `/_localcloud/served`)


def _serialise_dynamodb() -> None:
    """moto applies a TransactWriteItems by deep-copying each table it touches and, when a condition fails, putting
    the copy back: a write another request made in between is lost, and a copy taken while another request writes
    can fail outright. Function processes now call DynamoDB at the same time (each its own client), so moto serves
    one DynamoDB request at a time, as the real service's per-item atomicity never shows such effects."""
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, "_localcloud_serialised", False):
        return
    lock = threading.RLock()
    writes = [0]  # writing requests served: the state snapshots' cheap "did anything change"
    call_action = DynamoHandler.call_action

    def serialised(self: Any) -> Any:
        global _dynamodb_served
        with lock:
            _dynamodb_served += 1
            action = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
            if action in _DYNAMODB_WRITES:
                writes[0] += 1
            return call_action(self)

    DynamoHandler.call_action = serialised  # type: ignore[method-assign]
    DynamoHandler._localcloud_serialised = True  # type: ignore[attr-defined]
    DynamoHandler._localcloud_lock = lock  # type: ignore[attr-defined]
    DynamoHandler._localcloud_writes = writes  # type: ignore[attr-defined]


def _keep_tables_on_rollback() -> None:
    """moto backs a TransactWriteItems up by deep-copying every table it touches, and on a failed condition puts the
    copies in place of the tables. Two costs: every reader holding a table's stream shard (the runner's stream
    pollers) then reads a shard that no longer receives records (the ConfigChanged events stopped after the first 412
    of the Config API); and each transaction copies whole tables, stream records included — with the receiver's one
    transaction per webhook, a 2,000-webhook load run spent the runner's process copying the history and idempotency
    tables (time growing with each message; 5 GB of RSS). Here moto's copy hands back the table itself, and an undo
    log of the items the transaction names (their previous versions) and of each stream's length puts the state back
    in the same objects when the transaction fails. Stream reads are served under the DynamoDB lock too, so no reader
    sees a record of a transaction that is then rolled back."""
    import copy
    import types

    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    if getattr(DynamoDBBackend, "_localcloud_keeps_tables", False):
        return
    transact = DynamoDBBackend.transact_write_items

    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    dynamodb_models.copy = types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)  # type: ignore[assignment]

    def key_of(table: Any, op: dict[str, Any]) -> tuple[Any, Any] | None:
        source = op.get("Key") or op.get("Item") or {}
        hash_value = source.get(table.hash_key_attr)
        range_value = source.get(table.range_key_attr) if table.range_key_attr else None
        if hash_value is None or (table.range_key_attr and range_value is None):
            return None  # moto refuses it itself
        return DynamoType(hash_value), DynamoType(range_value) if range_value is not None else None

    def transact_in_place(self: Any, transact_items: list[dict[str, Any]]) -> None:
        undo: list[tuple[Any, Any, Any, Any]] = []
        streams: dict[int, tuple[Any, int]] = {}
        for entry in transact_items:
            op = next(iter(entry.values()), None) if isinstance(entry, dict) else None
            if not isinstance(op, dict):
                continue
            table: Any = self.tables.get(op.get("TableName"))
            key = key_of(table, op) if table is not None else None
            if key is None:
                continue
            undo.append((table, *key, copy.deepcopy(table.get_item(*key))))
            if table.stream_shard is not None:
                streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
        try:
            transact(self, transact_items)
        except Exception:
            for table, hash_value, range_value, previous in reversed(undo):
                if range_value is not None:
                    if previous is None:
                        table.items[hash_value].pop(range_value, None)
                    else:
                        table.items[hash_value][range_value] = previous
                elif previous is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = previous
            for shard, length in streams.values():
                del shard.items[length:]
            raise

    DynamoDBBackend.transact_write_items = transact_in_place  # type: ignore[method-assign]
    lock = getattr(DynamoHandler, "_localcloud_lock", None)
    if lock is not None:
        call_action = DynamoDBStreamsHandler.call_action

        def serialised(self: Any) -> Any:
            with lock:
                return call_action(self)

        DynamoDBStreamsHandler.call_action = serialised  # type: ignore[method-assign]
    DynamoDBBackend._localcloud_keeps_tables = True  # type: ignore[attr-defined]


def served() -> dict[str, Any]:
    from localcloud.persist import dynamodb_writes

    return {"pid": os.getpid(), "dynamodb_served": _dynamodb_served, "dynamodb_writes": dynamodb_writes()}


def _routes() -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
    from localcloud.persist import BACKEND

    return {
        "GET served": lambda _body: served(),
        "POST mark": lambda body: {"mark": BACKEND.mark(body["names"], body["region"])},
        "POST snapshot": lambda body: {"written": BACKEND.save(body["path"], body["stack"], body["region"],
                                                               body["names"])},
        "POST restore-keys": lambda body: {"keys": BACKEND.restore_keys(body["data"], body["region"])},
        "POST restore-data": lambda body: BACKEND.restore_data(body["data"], body["region"], body["names"]),
    }


def with_control(moto_app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """moto's WSGI application with the `/_localcloud/` routes in front of it."""
    routes = _routes()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(CONTROL):
            return moto_app(environ, start_response)
        route = routes.get(f"{environ.get('REQUEST_METHOD', 'GET')} {path[len(CONTROL):]}")
        status, reply = "200 OK", {}
        if route is None:
            status, reply = "404 Not Found", {"error": {"code": "not_found", "message": f"no control route {path}"}}
        else:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                reply = route(json.loads(environ["wsgi.input"].read(length) or b"{}"))
            except Exception as exc:  # the caller raises it as its own error
                status = "500 Internal Server Error"
                reply = {"error": {"code": "control_failed", "message": f"{type(exc).__name__}: {exc}"}}
        body = json.dumps(reply).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def _exit_with_parent() -> None:
    children.until_parent_gone()
    os._exit(0)


def make_moto_server(host: str, port: int) -> Any:
    """moto with the patches and the control routes, listening on host:port (0: a free one); not serving yet."""
    import logging

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    from localcloud import moto_costs
    from localcloud.moto_http import keep_alive_handler

    _partition_queries()
    _serialise_dynamodb()
    _keep_tables_on_rollback()
    moto_costs.apply()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call otherwise
    return make_server(host, port, with_control(DomainDispatcherApplication(create_backend_app)), threaded=True,
                       request_handler=keep_alive_handler())


class MotoThread:
    """`LOCALCLOUD_MOTO=thread`: the same server in a thread of the calling process (the way before issue 19), kept
    to compare the two on one machine (`python -m bench conversation` with and without it). Its `pid` is the
    caller's own."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = make_moto_server(host, port)
        self.thread = threading.Thread(target=self.server.serve_forever, name="moto", daemon=True)
        self.thread.start()
        self.url = f"http://{host}:{self.server.server_port}"
        self.pid = os.getpid()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m localcloud.motoserver")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = make_moto_server(args.host, args.port)
    threading.Thread(target=_exit_with_parent, name="parent-watch", daemon=True).start()
    children.announce(json.dumps({"url": f"http://{args.host}:{server.server_port}", "pid": os.getpid()}))
    server.serve_forever()


if __name__ == "__main__":
    main()
