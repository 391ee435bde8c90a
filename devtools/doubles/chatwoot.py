"""A stub of Chatwoot's REST API on 127.0.0.1: records every call; can fail the next N calls with 500 (or another
status), or be slow. Answers like Chatwoot: messages get an id, toggle_status returns the new status. Serves
attachments as Chatwoot does: `serve(...)` gives a `data_url` (an ActiveStorage redirect on the Chatwoot host) that
answers 302 to the file's storage URL, or to any `redirect_to` URL; every GET is recorded in `downloads`."""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from devtools.doubles.stub_server import QuietHandler, StubServer, send_body


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int
    message_id: int | None = None  # the id the stub gave a posted message
    at: float = field(default_factory=time.time)  # when it arrived (wall clock: comparable across processes)

    @property
    def kind(self) -> str:
        if self.path.endswith("/toggle_status"):
            return "toggle_status"
        if self.path.endswith("/messages"):
            return "note" if self.body.get("private") else "message"
        return "other"

    @property
    def conversation_id(self) -> int | None:
        parts = self.path.strip("/").split("/")
        try:
            return int(parts[parts.index("conversations") + 1])
        except (ValueError, IndexError):
            return None


@dataclass
class ChatwootStub(StubServer):
    thread_name = "chatwoot-stub"
    fail_next: int = 0
    fail_status: int = 500
    latency_s: float = 0.0
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Any = field(default_factory=lambda: itertools.count(700000))
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # storage path -> (bytes, content type)
    redirects: dict[str, str] = field(default_factory=dict)  # data_url path -> Location
    downloads: list[Call] = field(default_factory=list)

    def serve(self, name: str, data: bytes, content_type: str, redirect_to: str | None = None) -> str:
        """Registers a file; returns its `data_url` (a redirect, as Chatwoot's ActiveStorage gives)."""
        key = uuid.uuid4().hex[:12]
        storage = f"/storage/{key}/{name}"
        self.files[storage] = (data, content_type)
        self.redirects[f"/rails/active_storage/blobs/redirect/{key}/{name}"] = redirect_to or storage
        return f"{self.url}/rails/active_storage/blobs/redirect/{key}/{name}"

    def successful(self, kind: str | None = None, conversation_id: int | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.status < 300 and (kind is None or c.kind == kind)
                    and (conversation_id is None or c.conversation_id == conversation_id)]

    def replies(self, conversation_id: int | None = None) -> list[str]:
        """Public messages the customer saw, in order."""
        return [str(c.body.get("content")) for c in self.successful("message", conversation_id)]

    def wait_for(self, predicate: Any, timeout: float = 30.0, interval: float = 0.05) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(interval)
        return bool(predicate())

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.downloads.clear()
            self.fail_next = 0
            self.latency_s = 0.0

    def handler_class(self) -> type[QuietHandler]:
        stub = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                headers = {k.lower(): v for k, v in self.headers.items()}
                if path in stub.redirects:
                    status = 302
                elif path in stub.files:
                    status = 200
                else:
                    status = 404
                with stub._lock:
                    stub.downloads.append(Call("GET", self.path, headers, {}, status))
                if status == 302:
                    self.send_response(302)
                    self.send_header("Location", stub.redirects[path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif status == 200:
                    data, content_type = stub.files[path]
                    send_body(self, 200, data, content_type)
                else:
                    send_body(self, 404, {"error": "not found"})

            def do_POST(self) -> None:
                raw = self.read_body()
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                if stub.latency_s:
                    time.sleep(stub.latency_s)
                with stub._lock:
                    if stub.fail_next > 0:
                        stub.fail_next -= 1
                        status = stub.fail_status
                    elif not self.headers.get("api_access_token"):
                        status = 401
                    else:
                        status = 200
                    message_id = next(stub._ids)
                    stub.calls.append(Call("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                                           body if isinstance(body, dict) else {}, status, message_id))
                if status != 200:
                    payload: dict[str, Any] = {"error": "stub failure" if status >= 500 else "unauthorized"}
                elif self.path.endswith("/toggle_status"):
                    payload = {"meta": {}, "payload": {"success": True, "current_status": body.get("status")}}
                else:
                    payload = {"id": message_id, "content": body.get("content"),
                               "message_type": 1, "private": bool(body.get("private"))}
                send_body(self, status, payload)  # a client that gave up waiting (timeout tests) is fine

        return Handler
