"""One embedded Qdrant for every function process of the local stack.

Embedded Qdrant (`QdrantClient(path=...)`) locks its folder to one process, and in AWS every function reaches one
Qdrant server. Locally the runner keeps the one embedded client (the layer's `get_store()` in the runner process) and
serves it to the function processes: a `multiprocessing` manager on 127.0.0.1 with a random auth key, whose proxy
forwards each client method call (pickled arguments and results: qdrant-client's pydantic models) and holds the
store's lock around it, so calls from all processes are serialised as in-process calls are.
Nothing here runs in AWS, where `QDRANT_URL` points every function at the Qdrant server.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import warnings
from collections.abc import Callable
from multiprocessing.managers import BaseManager
from typing import Any

from localcloud.accounting import METER

FACTORY_ENV = "QDRANT_CLIENT_FACTORY"
ADDRESS_ENV = "LOCALCLOUD_QDRANT"


class _SharedClient:
    """Runs in the runner process: one call at a time into the embedded client."""

    def __init__(self, get_store: Callable[[], Any]) -> None:
        self._get_store = get_store  # built on the first call: the runner imports qdrant_client only when needed

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if name.startswith("_") or name == "close":
            raise AttributeError(f"{name} is not shared")
        store = self._get_store()
        with getattr(store, "_lock", None) or contextlib.nullcontext(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "payload indexes have no effect in the local Qdrant": known, harmless
            return getattr(store.client, name)(*args, **kwargs)


class QdrantShare:
    """Start in the runner process; `address` is what the function processes need to connect."""

    def __init__(self, get_store: Callable[[], Any]) -> None:
        shared = _SharedClient(get_store)

        class Manager(BaseManager):
            pass

        Manager.register("qdrant", callable=lambda: shared, exposed=("call",))
        self.authkey = secrets.token_bytes(16)
        self._manager = Manager(address=("127.0.0.1", 0), authkey=self.authkey)
        self._server = self._manager.get_server()
        self._thread = threading.Thread(target=self._server.serve_forever, name="qdrant-share", daemon=True)
        self._thread.start()

    def environment(self) -> dict[str, str]:
        """The variables that point a function process's `get_store()` here."""
        host, port = self._server.address  # type: ignore[misc,str-unpack]
        return {FACTORY_ENV: "localcloud.qdrant_share:remote_client",
                ADDRESS_ENV: f"{host}:{port}:{self.authkey.hex()}"}

    def stop(self) -> None:
        # serve_forever has no shutdown of its own before Python 3.13; the thread is a daemon and its socket closes
        # with the listener.
        with contextlib.suppress(Exception):
            self._server.listener.close()  # type: ignore[attr-defined]


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
