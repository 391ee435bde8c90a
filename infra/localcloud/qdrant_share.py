"""One embedded Qdrant for every function process of the local stack.

Embedded Qdrant (`QdrantClient(path=...)`) locks its folder to one process, and in AWS every function reaches one
Qdrant server. Locally one process of its own (`python -m localcloud.qdrant_share`, started by the runner) keeps the
one embedded client (the layer's `get_store()`) and serves it to the function processes and to the runner's own: a
`multiprocessing` manager on 127.0.0.1 with a random auth key, whose proxy forwards each client method call (pickled
arguments and results: qdrant-client's pydantic models) and holds the store's lock around it, so calls from all
processes are serialised as in-process calls are.

It used to be a thread of the runner's process: the embedded engine's searches are pure Python (tens of ms each at a
few hundred points), and under load they held the runner's interpreter lock while its gateway waited to pass
webhooks on. Like the functions that feed it most (the crew's retrieval), it runs at the background CPU priority
(`LOCALCLOUD_BACKGROUND_NICE`). It exits when the runner closes its stdin, or dies: it closes the embedded client
first, which writes its folder through.
Nothing here runs in AWS, where `QDRANT_URL` points every function at the Qdrant server.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable
from multiprocessing.managers import BaseManager
from typing import Any, ClassVar

from localcloud import children
from localcloud.accounting import METER

FACTORY_ENV = "QDRANT_CLIENT_FACTORY"
ADDRESS_ENV = "LOCALCLOUD_QDRANT"
AUTHKEY_ENV = "LOCALCLOUD_QDRANT_AUTHKEY"
FACTORY = "localcloud.qdrant_share:remote_client"


class _SharedClient:
    """Runs in the serving process: one call at a time into the embedded client."""

    def __init__(self, get_store: Callable[[], Any]) -> None:
        self._get_store = get_store  # built on the first call: imports qdrant_client only when needed
        self._guard = threading.Lock()
        self._store: Any = None
        self._closed = False

    def _current(self) -> Any:
        with self._guard:
            if self._closed:
                raise RuntimeError("the embedded Qdrant is closing (the local stack is stopping)")
            if self._store is None:
                self._store = self._get_store()
            return self._store

    def close(self) -> None:
        """The serving process's end: no call starts after it; one in progress finishes first."""
        with self._guard:
            self._closed, store = True, self._store
        if store is not None:
            with getattr(store, "_lock", None) or contextlib.nullcontext():
                pass

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if name.startswith("_") or name == "close":
            raise AttributeError(f"{name} is not shared")
        store = self._current()
        with getattr(store, "_lock", None) or contextlib.nullcontext(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "payload indexes have no effect in the local Qdrant": known, harmless
            return getattr(store.client, name)(*args, **kwargs)


class QdrantShare:
    """Starts the serving process; `address` is what the function processes need to connect.

    `QdrantShare.open(path)` hands a second stack of this process (a test's own) the share that already serves that
    folder (embedded Qdrant allows one process per folder), and `close()` stops it with its last user."""

    _open: ClassVar[dict[str, tuple[QdrantShare, int]]] = {}
    _open_lock = threading.Lock()

    @classmethod
    def open(cls, path: str, nice: int = 0) -> QdrantShare:
        with cls._open_lock:
            share, users = cls._open.get(path) or (None, 0)
            if share is None or share.process.poll() is not None:
                share, users = cls(path, nice=nice), 0
            cls._open[path] = (share, users + 1)
            return share

    def close(self) -> None:
        with self._open_lock:
            share, users = self._open.get(self.path) or (None, 0)
            if share is self and users > 1:
                self._open[self.path] = (self, users - 1)
                return
            if share is self:
                del self._open[self.path]
        self.stop()

    def __init__(self, path: str, nice: int = 0, start_timeout_s: float = 60.0) -> None:
        self.path = path
        self.authkey = secrets.token_bytes(16)
        env = {k: v for k, v in os.environ.items() if k not in (FACTORY_ENV, ADDRESS_ENV)}  # it owns the client
        env["QDRANT_PATH"] = path
        env[AUTHKEY_ENV] = self.authkey.hex()
        env["PYTHONPATH"] = os.pathsep.join(entry for entry in sys.path if entry)
        # A session of its own: the terminal's Ctrl-C reaches the runner, which then stops it with the store closed.
        self.process = subprocess.Popen([sys.executable, "-m", "localcloud.qdrant_share"], env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        start_new_session=True)
        if nice:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, self.process.pid, nice)
        address = children.announcement(self.process, start_timeout_s)
        if address is None:
            self.stop()
            raise RuntimeError(f"the embedded Qdrant's process did not start within {start_timeout_s:.0f} s")
        self.address = address  # host:port

    @property
    def pid(self) -> int:
        return self.process.pid

    def environment(self) -> dict[str, str]:
        """The variables that point a process's `get_store()` here."""
        return {FACTORY_ENV: FACTORY, ADDRESS_ENV: f"{self.address}:{self.authkey.hex()}"}

    def stop(self, timeout_s: float = 10.0) -> None:
        """Closes its stdin: it closes the embedded client (written through) and exits; killed if it does not."""
        children.stop(self.process, timeout_s)


def serve() -> None:
    """`python -m localcloud.qdrant_share`: serves the embedded client until stdin closes (the runner's stop, or its
    death), then closes it."""
    from chatwoot_ai.vector.store import get_store, reset_store

    shared = _SharedClient(get_store)

    class Manager(BaseManager):
        pass

    Manager.register("qdrant", callable=lambda: shared, exposed=("call",))
    server = Manager(address=("127.0.0.1", 0), authkey=bytes.fromhex(os.environ.pop(AUTHKEY_ENV))).get_server()
    threading.Thread(target=server.serve_forever, name="qdrant-share", daemon=True).start()
    host, port = server.address  # type: ignore[misc,str-unpack]
    children.announce(f"{host}:{port}")
    children.until_parent_gone()  # the runner's stop, or its death
    with contextlib.suppress(Exception):
        shared.close()
    reset_store()
    os._exit(0)  # the manager's connection threads would keep the interpreter waiting


class RemoteClient:
    """Runs in a function process: looks like a QdrantClient to the layer's VectorStore."""

    def __init__(self, proxy: Any) -> None:
        self._proxy = proxy

    def close(self) -> None:
        """The runner owns the embedded client; a function process never closes it."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def method(*args: Any, **kwargs: Any) -> Any:
            METER.add("qdrant_calls")
            return self._proxy.call(name, args, kwargs)

        return method


def remote_client() -> RemoteClient:
    """`QDRANT_CLIENT_FACTORY=localcloud.qdrant_share:remote_client`: the layer calls this instead of building its own
    client; `LOCALCLOUD_QDRANT` (host:port:authkey-hex) says where the runner serves its embedded Qdrant."""
    host, port, authkey = os.environ[ADDRESS_ENV].split(":")

    class Manager(BaseManager):
        pass

    Manager.register("qdrant")
    manager = Manager(address=(host, int(port)), authkey=bytes.fromhex(authkey))
    manager.connect()
    return RemoteClient(manager.qdrant())  # type: ignore[attr-defined]


if __name__ == "__main__":
    serve()
