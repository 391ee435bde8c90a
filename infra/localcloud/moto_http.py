"""moto's HTTP server with keep-alive connections, as AWS endpoints have.

moto serves through werkzeug's development server, which ends every response with `Connection: close` and then
drains the socket (it cannot tell how much of a request body the application left unread). Each AWS call opened a
new TCP connection and the server started a new thread for it: profiled in the webhook receiver, opening connections
was ~2 ms of a 9 ms webhook, and every GetItem paid it too. AWS SDKs keep their connections open (botocore pools 10
per client), so a warm Lambda reaches DynamoDB over a connection it already has.

Here each request's body is read whole (by Content-Length) before moto sees it, and the answer is sent with its
Content-Length, so the next request on the connection starts where it should. A chunked or unsized request body
still closes its connection after the answer. Idle connections close after `IDLE_TIMEOUT_S` (botocore opens a new
one when it finds its pooled one closed). One thread per open connection, as before.
"""

from __future__ import annotations

import io
import sys
import traceback
from typing import Any

IDLE_TIMEOUT_S = 120
_NO_BODY = frozenset({204, 304})


def keep_alive_handler() -> type:
    """moto's request handler (its header handling kept), answering HTTP/1.1 on a connection it keeps open."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class KeepAliveHandler(MotoRequestHandler):  # type: ignore[misc,valid-type]
        protocol_version = "HTTP/1.1"
        timeout = IDLE_TIMEOUT_S
        disable_nagle_algorithm = True  # the headers and the body go in two writes; Nagle held the second ~40 ms

        def log_error(self, format: str, *args: Any) -> None:
            if format.startswith("Request timed out"):
                return  # an idle kept-alive connection closing after IDLE_TIMEOUT_S: routine, not an error
            super().log_error(format, *args)

        def run_wsgi(self) -> None:
            environ = self.make_environ()
            chunked = bool(environ.get("wsgi.input_terminated"))
            length = self.headers.get("Content-Length")
            if chunked or (length is None and self.command not in ("GET", "HEAD", "DELETE", "OPTIONS")):
                self.close_connection = True  # the body's end is its stream's end: nothing can follow it here
            else:
                size = int(length or 0)
                environ["wsgi.input"] = io.BytesIO(self.rfile.read(size) if size > 0 else b"")
            self.environ = environ
            status, headers, body = self._call(environ)
            code, _, reason = status.partition(" ")
            self.send_response(int(code), reason)
            for name, value in headers:
                if name.lower() not in ("connection", "transfer-encoding") and (
                        name.lower() != "content-length" or self.command == "HEAD"):
                    self.send_header(name, value)
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and int(code) not in _NO_BODY and body:
                self.wfile.write(body)
            self.wfile.flush()

        def _call(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
            answer: dict[str, Any] = {}
            chunks: list[bytes] = []

            def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                answer.update(status=status, headers=headers)
                return chunks.append

            try:
                result = self.server.app(environ, start_response)
                try:
                    chunks.extend(result)
                finally:
                    if hasattr(result, "close"):
                        result.close()
                return answer["status"], answer["headers"], b"".join(chunks)
            except Exception:  # werkzeug's server answered 500 too, with the trace in its log
                traceback.print_exc(file=sys.stderr)
                self.close_connection = True
                return "500 Internal Server Error", [("Content-Type", "text/plain")], b"Internal Server Error"

    return KeepAliveHandler

