"""Plays API Gateway (HTTP API, payload format 2.0): routes from the template's HttpApi events, the v2 event, CORS as
the template's CorsConfiguration says, the 6 MB Lambda payload limit; plus `/health` and the viewer's static files."""

from __future__ import annotations

import base64
import json
import mimetypes
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from localcloud.lambdas import LocalFunction
from localcloud.template import ROOT

MAX_PAYLOAD = 6 * 1024 * 1024
VIEWER_DIR = ROOT / "viewer_static"


@dataclass
class Route:
    method: str  # "ANY" or a verb
    path: str
    pattern: re.Pattern[str]
    function: LocalFunction

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def rank(self) -> tuple[int, int, int, int]:
        # API Gateway prefers the most specific route: no greedy proxy, more literal segments, an exact method.
        segments = [s for s in self.path.split("/") if s]
        literal = sum(1 for s in segments if not s.startswith("{"))
        return ("+}" in self.path, -literal, -len(segments), self.method == "ANY")  # type: ignore[return-value]


def compile_path(path: str) -> re.Pattern[str]:
    out = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("+}"):
            out += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            out += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            out += re.escape(part)
    return re.compile(f"^{out}$")


class Gateway:
    def __init__(self, routes: list[Route], cors: dict[str, Any] | None, api_id: str = "local") -> None:
        self.routes = sorted(routes, key=lambda r: r.rank)
        self.cors = cors or {}
        self.api_id = api_id
        self.ready = False
        self.health_extra: dict[str, Any] = {}
        self.requests: Counter[str] = Counter()  # HTTP requests per function: what API Gateway bills

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """The route, its path parameters, and whether the path exists under another method (405 vs 404)."""
        path_exists = False
        for route in self.routes:
            found = route.pattern.match(path)
            if not found:
                continue
            path_exists = True
            if route.method in ("ANY", method):
                return route, {k: unquote(v) for k, v in found.groupdict().items()}, True
        return None, {}, path_exists

    def allowed_origin(self, origin: str | None) -> str | None:
        allowed = self.cors.get("AllowOrigins") or []
        if origin and ("*" in allowed or origin in allowed):
            return origin
        return None

    def cors_headers(self, origin: str | None) -> dict[str, str]:
        allowed = self.allowed_origin(origin)
        if not allowed:
            return {}
        return {"access-control-allow-origin": allowed, "vary": "origin"}

    def preflight_headers(self, origin: str | None) -> dict[str, str] | None:
        allowed = self.allowed_origin(origin)
        if not allowed:
            return None
        return {
            "access-control-allow-origin": allowed,
            "access-control-allow-methods": ",".join(self.cors.get("AllowMethods", ["*"])),
            "access-control-allow-headers": ",".join(self.cors.get("AllowHeaders", ["*"])),
            "access-control-max-age": str(self.cors.get("MaxAge", 0)),
            "vary": "origin",
        }


def build_event(route: Route, method: str, raw_path: str, query: str, headers: dict[str, str],
                body: bytes, path_params: dict[str, str], source_ip: str, api_id: str) -> dict[str, Any]:
    now = time.time()
    query_params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        query_params[key] = f"{query_params[key]},{value}" if key in query_params else value
    cookies = [c.strip() for c in headers.get("cookie", "").split(";") if c.strip()]
    try:
        text, is_b64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_b64 = base64.b64encode(body).decode("ascii"), True
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": {k: v for k, v in headers.items() if k != "cookie"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": api_id,
            "domainName": headers.get("host", "localhost"),
            "domainPrefix": headers.get("host", "localhost").split(".")[0],
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                     "userAgent": headers.get("user-agent", "")},
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_b64,
    }
    if cookies:
        event["cookies"] = cookies
    if query_params:
        event["queryStringParameters"] = query_params
    if path_params:
        event["pathParameters"] = path_params
    if body:
        event["body"] = text
    return event


def parse_result(result: Any) -> tuple[int, dict[str, str], bytes, list[str]]:
    """Lambda's v2 response: a dict with statusCode, or anything else meaning 200 + JSON of it."""
    if isinstance(result, dict) and "statusCode" in result:
        headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        for key, values in (result.get("multiValueHeaders") or {}).items():
            headers[key.lower()] = ",".join(str(v) for v in values)
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
        return int(result["statusCode"]), headers, raw, list(result.get("cookies") or [])
    return 200, {"content-type": "application/json"}, json.dumps(result).encode("utf-8"), []


def make_handler(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go in separate writes; Nagle would add ~40 ms
        server_version = "chatwoot-ai-local"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the functions log; per-request access logs would drown them

        def _send(self, status: int, headers: dict[str, str], body: bytes, cookies: list[str] | None = None) -> None:
            self.send_response(status)
            for key, value in headers.items():
                if key not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(key, value)
            for cookie in cookies or []:
                self.send_header("set-cookie", cookie)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            self._send(status, {"content-type": "application/json", **(headers or {})},
                       json.dumps(payload).encode("utf-8"))

        def _error(self, status: int, code: str, message: str) -> None:
            self._json(status, {"error": {"code": code, "message": message}},
                       gateway.cors_headers(self.headers.get("origin")))

        def _dispatch(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            if path == "/health":
                status = 200 if gateway.ready else 503
                extra = {key: value() if callable(value) else value for key, value in gateway.health_extra.items()}
                self._json(status, {"status": "ok" if gateway.ready else "starting", **extra})
                return
            if path == "/viewer" or path.startswith("/viewer/"):
                self._static(path)
                return
            origin = self.headers.get("origin")
            if self.command == "OPTIONS" and self.headers.get("access-control-request-method"):
                preflight = gateway.preflight_headers(origin)
                self._send(204 if preflight else 403, preflight or {}, b"")
                return
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_PAYLOAD:
                self._error(413, "payload_too_large", f"request body over {MAX_PAYLOAD} bytes")
                self.close_connection = True
                return
            body = self.rfile.read(length) if length else b""
            route, params, path_exists = gateway.match(self.command, path)
            if route is None:
                if path_exists:
                    self._error(405, "method_not_allowed", f"{self.command} is not allowed on {path}")
                else:
                    self._error(404, "not_found", f"no route for {self.command} {path}")
                return
            headers: dict[str, str] = {}
            for key, value in self.headers.items():
                key = key.lower()
                headers[key] = f"{headers[key]},{value}" if key in headers else value
            event = build_event(route, self.command, path, parts.query, headers, body, params,
                                self.client_address[0], gateway.api_id)
            gateway.requests[route.function.spec.logical_id] += 1
            try:
                result = route.function.invoke(event)
            except Exception:
                # API Gateway answers 500 {"message": "Internal Server Error"} when the function raises.
                self._json(500, {"message": "Internal Server Error"}, gateway.cors_headers(origin))
                return
            status, out_headers, raw, cookies = parse_result(result)
            out_headers.update(gateway.cors_headers(origin))
            self._send(status, out_headers, raw, cookies)

        def _static(self, path: str) -> None:
            relative = path[len("/viewer"):].lstrip("/") or "index.html"
            if path == "/viewer":
                self._send(301, {"location": "/viewer/"}, b"")
                return
            target = (VIEWER_DIR / relative).resolve()
            if not str(target).startswith(str(VIEWER_DIR.resolve())) or not target.is_file():
                target = VIEWER_DIR / "index.html"
                if not target.is_file():
                    self._error(404, "not_found", "the viewer is not built")
                    return
            content_type = mimetypes.guess_type(str(target))[0] or "application/octet-stream"
            if content_type.startswith("text/") or content_type.endswith("javascript"):
                content_type += "; charset=utf-8"
            self._send(200, {"content-type": content_type, "cache-control": "no-cache"}, Path(target).read_bytes())

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _dispatch

    return Handler


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
