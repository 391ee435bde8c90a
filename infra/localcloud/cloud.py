"""The whole stack on this machine: moto server, the template's resources, every function with its HTTP routes and
event sources, the viewer. Used by `make run` and by the test fixtures (each on its own free ports)."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from localcloud import memory, moto_costs
from localcloud.gateway import VIEWER_DIR, Gateway, GatewayServer, Route, compile_path, make_handler
from localcloud.lambdas import BACKGROUND_NICE, CODE_PATHS, InProcessFunction, LocalFunction
from localcloud.persist import CloudSnapshot, Restored, Snapshotter
from localcloud.provision import Stack, provision
from localcloud.qdrant_share import ADDRESS_ENV, FACTORY, FACTORY_ENV, QdrantShare
from localcloud.sources import Source, build_sources
from localcloud.state import DataDir, private_dir
from localcloud.template import ROOT, TEMPLATE_PATH, FunctionSpec, functions, load_template

DEFAULT_SNAPSHOT_S = 2.0  # a kill -9 loses at most this much of the emulated cloud's data
# Per-function variables that must not leak into the runner's own process (functions run in processes of their own).
_PROCESS_PRIVATE = {"HOME"}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _partition_queries() -> None:
    """moto 5.2's Table.query reads and sorts every item of the table for each base-table query, so each query gets
    slower as the table grows (a 2,000-message load run spent most of its time there). A base-table query only needs
    its partition: hand it just that bucket. Same results; applied once per process."""
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


_dynamodb_served = 0


def dynamodb_served() -> int:
    """DynamoDB requests the emulated cloud of this process has served (accounting checks its counts against it)."""
    return _dynamodb_served


def _serialise_dynamodb() -> None:
    """moto applies a TransactWriteItems by deep-copying each table it touches and, when a condition fails, putting
    the copy back: a write another request made in between is lost, and a copy taken while another request writes
    can fail outright. Function processes now call DynamoDB at the same time (each its own client), so moto serves
    one DynamoDB request at a time, as the real service's per-item atomicity never shows such effects. Applied once
    per process."""
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
    sees a record of a transaction that is then rolled back. Applied once per process."""
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


def start_moto(host: str = "127.0.0.1", port: int | None = None) -> tuple[Any, str]:
    import logging

    from localcloud.moto_http import MotoServer

    _partition_queries()
    _serialise_dynamodb()
    _keep_tables_on_rollback()
    moto_costs.apply()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call otherwise

    port = port or free_port(host)
    server = MotoServer(host, port)
    server.start()
    url = f"http://{host}:{port}"
    _wait_http(url + "/moto-api/", timeout=30)
    return server, url


def _wait_http(url: str, timeout: float) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def ensure_code_paths() -> None:
    for path in CODE_PATHS:
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def _reset_shared_caches() -> None:
    """The layer caches settings and clients per process; the runner changes the environment before serving."""
    settings = sys.modules.get("chatwoot_ai.settings")
    if settings is not None:
        settings.reset_settings()  # type: ignore[attr-defined]
    aws = sys.modules.get("chatwoot_ai.aws")
    if aws is not None:
        aws.reset_clients()  # type: ignore[attr-defined]
    store = sys.modules.get("chatwoot_ai.vector.store")
    if store is not None:  # a client of another stack's shared Qdrant (RemoteClient.close does nothing)
        store.reset_store(FACTORY)  # type: ignore[attr-defined]


class LocalCloud:
    """Start with `start()` (or as a context manager); `url` is the API, `endpoint_url` the emulated AWS."""

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        stack_name: str = "chatwoot-ai",
        endpoint_url: str | None = None,
        admin_key: str | None = None,
        data_dir: str | Path | None = None,
        env: dict[str, str] | None = None,
        region: str = "us-east-1",
        event_sources: bool = True,
        template_path: Path | None = None,
        persist: bool = False,
        qdrant_address: str | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.stack_name = stack_name
        self.endpoint_url = endpoint_url
        self.admin_key = admin_key or os.environ.get("ADMIN_API_KEY") or secrets.token_urlsafe(24)
        self.data_dir = Path(data_dir or ROOT / ".local")
        self.extra_env = env or {}
        self.region = region
        self.event_sources = event_sources
        self.template_path = template_path
        self.moto: Any = None
        self.stack: Stack | None = None
        self.functions: dict[str, LocalFunction] = {}
        self.sources: list[Source] = []
        self.server: GatewayServer | None = None
        self.gateway: Gateway | None = None
        self._stop = threading.Event()
        self._server_thread: threading.Thread | None = None
        self._on_stop: list[Callable[[], object]] = []
        self.qdrant_share: QdrantShare | None = None
        self.log_listeners: list[Callable[[str, str], object]] = []  # (function logical id, line)
        self.echo_logs = True
        self._saved_environ: dict[str, str | None] = {}
        # persist: the runner's own moto restores its data from data_dir at start and saves it while it runs and at
        # stop (persist.py). qdrant_address: use another runner's embedded Qdrant (`localcloud invoke` next to a
        # running `make run`) instead of opening the folder it holds.
        self.persist = persist
        self.qdrant_address = qdrant_address
        self.snapshot: CloudSnapshot | None = None
        self.restored: Restored | None = None
        self._snapshotter: Snapshotter | None = None
        self._may_save = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def function(self, logical_id: str) -> LocalFunction:
        return self.functions[logical_id]

    def in_process(self, logical_id: str) -> InProcessFunction:
        """The function's handler in this process (tests that patch its module state); no isolation."""
        return InProcessFunction(self.functions[logical_id].spec, self.region)

    def _log(self, function: str, line: str) -> None:
        """Function processes' output: to this process's stdout (the `make run` terminal), and to listeners."""
        for listener in list(self.log_listeners):
            listener(function, line)
        if self.echo_logs:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def update_environment(self, changes: dict[str, str | None], *logical_ids: str) -> None:
        """Changes functions' variables as UpdateFunctionConfiguration does (every function when none is named):
        their next invocations run in new environments."""
        for logical_id in logical_ids or tuple(self.functions):
            self.functions[logical_id].update_environment(changes)

    @contextlib.contextmanager
    def environment_changed(self, changes: dict[str, str | None], *logical_ids: str) -> Iterator[None]:
        """`update_environment` for a while: each function gets its own earlier values back afterwards."""
        names = logical_ids or tuple(self.functions)
        saved = {name: {key: self.functions[name].environment().get(key) for key in changes} for name in names}
        self.update_environment(changes, *names)
        try:
            yield
        finally:
            for name, values in saved.items():
                self.functions[name].update_environment(values)

    def start(self, serve: bool = True, ready: bool = True) -> LocalCloud:
        """Provisions the template and builds its functions; with `serve`, also the HTTP API, the event sources,
        the viewer and the snapshots (`localcloud invoke` needs none of them). `ready=False` leaves /health at
        503 until the caller sets `gateway.ready` (make run loads the demo tenant first)."""
        started = time.perf_counter()
        ensure_code_paths()
        saved: dict[str, Any] | None = None
        if self.endpoint_url is None:
            self.moto, self.endpoint_url = start_moto(self.host)
            if self.persist:
                self.snapshot = CloudSnapshot(DataDir(self.data_dir).snapshot_file(self.stack_name),
                                              self.stack_name, self.region)
                began = time.perf_counter()
                saved = self.snapshot.load()
                self.restored = Restored(found=saved is not None, keys=self.snapshot.restore_keys(saved))
                self.restored.seconds = time.perf_counter() - began
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        os.environ["AWS_DEFAULT_REGION"] = self.region
        os.environ["AWS_REGION"] = self.region
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint_url
        template = load_template(self.template_path) if self.template_path else load_template()
        self.stack = provision(self.stack_name, self.region, self.endpoint_url,
                               {"AdminApiKey": self.admin_key, "ViewerOrigin": self.url, "PublicApiUrl": self.url,
                                "IdentitySigningKey": os.environ.get("IDENTITY_SIGNING_KEY")
                                or secrets.token_urlsafe(32)},
                               template)
        if self.snapshot is not None and self.restored is not None:
            began = time.perf_counter()
            self.snapshot.restore_data(saved, self.stack, self.restored)
            self.restored.seconds += time.perf_counter() - began
            self._may_save = True  # never over the file with a state restored halfway
        specs = functions(template, (self.template_path or TEMPLATE_PATH).parent)
        for spec in specs:
            for code_dir in spec.code_dirs:
                if str(code_dir) not in sys.path:
                    sys.path.insert(0, str(code_dir))
        local_env = self._apply_environment(specs)
        _reset_shared_caches()
        if self.qdrant_address:
            local_env.update({FACTORY_ENV: FACTORY, ADDRESS_ENV: self.qdrant_address})
        elif not os.environ.get("QDRANT_URL"):
            self.qdrant_share = QdrantShare.open(local_env["QDRANT_PATH"], nice=BACKGROUND_NICE)
            local_env.update(self.qdrant_share.environment())
        if FACTORY_ENV in local_env:  # handlers a test calls in this process reach the same Qdrant as the functions
            shared = {FACTORY_ENV: local_env[FACTORY_ENV], ADDRESS_ENV: local_env[ADDRESS_ENV]}
            self._saved_environ.update({k: os.environ.get(k) for k in shared if k not in self._saved_environ})
            os.environ.update(shared)
            _reset_shared_caches()
        routes: list[Route] = []
        for spec in specs:
            function_env = {k: str(v) for k, v in self.stack.resolver.resolve(spec.environment).items()}
            local = LocalFunction(spec, self.region, {**function_env, **local_env})
            local.log_sinks.append(self._log)
            self.functions[spec.logical_id] = local
            for event in spec.events.values():
                if event.get("Type") == "HttpApi":
                    props = event.get("Properties", {})
                    routes.append(Route(props.get("Method", "ANY").upper(), props["Path"],
                                        compile_path(props["Path"]), local))
            if self.event_sources and serve:
                self.sources.extend(build_sources(self.stack, spec, local, self._stop))
        cors = template["Resources"].get("HttpApi", {}).get("Properties", {}).get("CorsConfiguration")
        self.gateway = Gateway(routes, self.stack.resolver.resolve(cors) if cors else None)
        if not serve:
            return self
        self._publish_viewer()
        self.server = GatewayServer((self.host, self.port), make_handler(self.gateway))
        self._server_thread = threading.Thread(target=self.server.serve_forever, name="gateway", daemon=True)
        self._server_thread.start()
        for source in self.sources:
            source.start()
        if self.snapshot is not None:
            interval = float(os.environ.get("LOCALCLOUD_SNAPSHOT_S", DEFAULT_SNAPSHOT_S))
            self._snapshotter = Snapshotter(self.snapshot, self.stack, interval)
            self._snapshotter.start()
        self.gateway.health_extra = {
            "functions": sorted(self.functions),
            "routes": [r.route_key for r in self.gateway.routes],
            "event_sources": [s.name for s in self.sources],
            "startup_s": round(time.perf_counter() - started, 3),
            "memory": lambda: memory.report(self),  # RSS per process, read at each request
        }
        if self.restored is not None:
            self.gateway.health_extra["restored"] = asdict(self.restored)
        self.gateway.ready = ready
        return self

    def _apply_environment(self, specs: list[FunctionSpec]) -> dict[str, str]:
        """Sets the functions' variables in this process too (tests call handlers in-process) and returns the local
        overrides every function process gets on top of its own template variables."""
        assert self.stack is not None
        merged: dict[str, str] = {}
        for spec in specs:
            for key, value in self.stack.resolver.resolve(spec.environment).items():
                if key in _PROCESS_PRIVATE:
                    continue
                merged.setdefault(key, str(value))
        qdrant_dir = self.data_dir / "qdrant"
        local = {
            "QDRANT_PATH": os.environ.get("QDRANT_PATH", str(qdrant_dir)),
            "CONFIG_FALLBACK_DIR": os.environ.get("CONFIG_FALLBACK_DIR", str(self.data_dir / "fallback")),
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        if os.environ.get("QDRANT_URL"):
            local["QDRANT_URL"] = os.environ["QDRANT_URL"]
        local.update(self.extra_env)
        merged.update(local)
        private_dir(self.data_dir)
        self._saved_environ = {key: os.environ.get(key) for key in merged}
        os.environ.update(merged)
        return local

    def _restore_environment(self) -> None:
        """A second stack in one process (a test's own) gives the first one's variables back when it stops."""
        for key, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_environ = {}
        _reset_shared_caches()

    def _publish_viewer(self) -> None:
        """Uploads viewer_static/ to the template's website bucket, as a deploy would."""
        assert self.stack is not None
        bucket = self.stack.refs.get("ViewerBucket")
        if not bucket or not VIEWER_DIR.is_dir():
            return
        import mimetypes

        s3 = self.stack.client("s3")
        for path in VIEWER_DIR.rglob("*"):
            if path.is_file():
                key = str(path.relative_to(VIEWER_DIR))
                s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(),
                              ContentType=mimetypes.guess_type(key)[0] or "application/octet-stream")

    def on_stop(self, callback: Callable[[], object]) -> None:
        """Run `callback` when the stack stops (demo doubles, temp files)."""
        self._on_stop.append(callback)

    def stop(self, grace_s: float = 30.0) -> None:
        deadline = time.monotonic() + grace_s
        self._stop.set()
        if self.gateway:
            self.gateway.ready = False
        if self.server:
            self.server.shutdown()
            self.server.server_close()
        for source in self.sources:
            # An invocation in flight finishes, as Lambda lets it; a stuck one is abandoned after the grace period.
            source.join(timeout=max(0.1, deadline - time.monotonic()))
        for function in self.functions.values():
            function.close()
        if self._snapshotter is not None:
            self._snapshotter.stop()
            self._snapshotter = None
        if self.snapshot is not None and self.stack is not None and self.moto is not None and self._may_save:
            self.snapshot.save(self.stack)  # after every invocation in flight has finished
        if self.qdrant_share is not None:
            self.qdrant_share.close()
            self.qdrant_share = None
        self._restore_environment()
        for callback in reversed(self._on_stop):
            callback()
        self._on_stop.clear()
        if self.moto is not None:
            self.moto.stop()
            self.moto = None
