"""What every double shares: a threaded HTTP server on 127.0.0.1 serving on a daemon thread, started and stopped by
`start()`/`stop()` or a `with` block, and a JSON answer helper for request handlers."""

from __future__ import annotations

import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class QuietHandler(BaseHTTPRequestHandler):
    """A keep-alive request handler that logs nothing and reads whole bodies."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *_args: Any) -> None:
        pass

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


class StubServer:
    """Subclasses give `handler_class()` (or a whole `make_server()`); `port` 0 picks a free one, kept on restart."""

    thread_name = "stub-server"
    port = 0
    _server: socketserver.TCPServer | None = None

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError  # or override make_server()

    def make_server(self) -> socketserver.TCPServer:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler_class())
        server.daemon_threads = True
        return server

    @property
    def url(self) -> str:
        assert self.port, "start() first"
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._server = self.make_server()
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name=self.thread_name, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def send_body(handler: BaseHTTPRequestHandler, status: int, body: Any, content_type: str = "application/json") -> None:
    """One complete answer (JSON unless `body` is bytes); a client that gave up waiting is not an error."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
