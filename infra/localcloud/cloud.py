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

from localcloud import memory
from localcloud.gateway import VIEWER_DIR, Gateway, GatewayServer, Route, compile_path, make_handler
from localcloud.lambdas import BACKGROUND_NICE, CODE_PATHS, InProcessFunction, LocalFunction
from localcloud.motoserver import MotoProcess, MotoThread, control
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


def start_moto(host: str = "127.0.0.1", port: int | None = None) -> tuple[MotoProcess | MotoThread, str]:
    """moto in a process of its own (`motoserver.py`), with the runner's patches; `.stop()` ends it.
    `LOCALCLOUD_MOTO=thread` serves it from a thread of this process instead (to compare the two)."""
    moto = (MotoThread if os.environ.get("LOCALCLOUD_MOTO") == "thread" else MotoProcess)(host, port or 0)
    return moto, moto.url


def dynamodb_served(endpoint_url: str) -> int:
    """DynamoDB requests the moto process at `endpoint_url` has served (accounting checks its counts against it)."""
    return int(control(endpoint_url, "served")["dynamodb_served"])


def moto_pid(endpoint_url: str) -> int | None:
    """The pid of the `motoserver` at a loopback `endpoint_url` (the tests' and the bench's session moto), None for
    another endpoint (LocalStack, AWS), one that does not answer, or one served from this very process
    (`LOCALCLOUD_MOTO=thread`)."""
    from urllib.parse import urlsplit

    if urlsplit(endpoint_url).hostname not in ("127.0.0.1", "localhost"):
        return None
    try:
        pid = int(control(endpoint_url, "served", timeout_s=5)["pid"])
    except Exception:
        return None
    return pid if pid != os.getpid() else None


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
        self.moto: MotoProcess | MotoThread | None = None
        self.moto_pid: int | None = None  # moto's own process (memory.report shows its RSS apart)
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
            self.moto_pid = self.moto.pid if self.moto.pid != os.getpid() else None
            if self.persist:
                self.snapshot = CloudSnapshot(DataDir(self.data_dir).snapshot_file(self.stack_name),
                                              self.stack_name, self.region, self.endpoint_url)
                began = time.perf_counter()
                saved = self.snapshot.load()
                self.restored = Restored(found=saved is not None, keys=self.snapshot.restore_keys(saved))
                self.restored.seconds = time.perf_counter() - began
        else:
            self.moto_pid = moto_pid(self.endpoint_url)
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
        if self.qdrant_address:
            local_env.update({FACTORY_ENV: FACTORY, ADDRESS_ENV: self.qdrant_address})
        elif not os.environ.get("QDRANT_URL"):
            self.qdrant_share = QdrantShare.open(local_env["QDRANT_PATH"], nice=BACKGROUND_NICE)
            local_env.update(self.qdrant_share.environment())
        if FACTORY_ENV in local_env:  # handlers a test calls in this process reach the same Qdrant as the functions
            shared = {FACTORY_ENV: local_env[FACTORY_ENV], ADDRESS_ENV: local_env[ADDRESS_ENV]}
            self._saved_environ.update({k: os.environ.get(k) for k in shared if k not in self._saved_environ})
            os.environ.update(shared)
        _reset_shared_caches()  # this process's settings and clients follow the environment set above
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
            try:
                self.snapshot.save(self.stack)  # after every invocation in flight has finished
            except Exception as exc:  # moto's process is gone (or failed): stop the rest all the same
                print(f"[localcloud] last snapshot failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
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
