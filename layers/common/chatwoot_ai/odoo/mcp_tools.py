"""The crew's way to the Odoo gateway: MCP over HTTP with the official `mcp` client, behind two blocking calls.

    tools = list_tools(base_url, api_key, tenant_id)
    result = call_tool(base_url, api_key, tenant_id, "search_products", {"query": "protetor solar"}, timeout_s=8)

`api_key` is the admin key or a tenant key (`X-Api-Key`); the conversation worker sends none and passes
`identity=` (a signed customer identity, chatwoot_ai.identity) instead: the gateway then answers for that customer.

Every call is bounded by `timeout_s` (connect, initialize and the call together) and raises one of:
`GatewayUnavailable` (unreachable, timed out, 5xx), `GatewayAuthError` (401/403/404 from the gateway: wrong key,
unknown tenant), `ToolCallError` (the tool answered an error: `code` "odoo_timeout", "odoo_error",
"write_disabled", "validation_error", ...). All derive from `McpGatewayError`, so a caller can hand off on any of
them instead of hanging.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from typing import Any

import anyio
import httpx


class McpGatewayError(Exception):
    """Anything that kept a tool call from giving a result."""

    code = "mcp_error"


class GatewayUnavailable(McpGatewayError):
    code = "gateway_unavailable"


class GatewayAuthError(McpGatewayError):
    code = "gateway_refused"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ToolCallError(McpGatewayError):
    def __init__(self, tool: str, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{tool}: {code}: {message}")
        self.tool = tool
        self.code = code
        self.message = message
        self.field = field


def _headers(api_key: str, tenant_id: str, domain: str, identity: str | None = None) -> dict[str, str]:
    from chatwoot_ai.identity import IDENTITY_HEADER

    headers = {"X-Tenant-Id": tenant_id, "X-Domain": domain}
    if api_key:
        headers["X-Api-Key"] = api_key
    if identity:
        headers[IDENTITY_HEADER] = identity
    return headers


def _mcp_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base if base.endswith("/mcp") else f"{base}/mcp"


async def _session_call(base_url: str, headers: dict[str, str], timeout_s: float, what: str,
                        name: str | None = None, arguments: dict[str, Any] | None = None) -> Any:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(timeout_s)) as http:
        with anyio.fail_after(timeout_s):
            async with (streamable_http_client(_mcp_url(base_url), http_client=http) as (read, write, _),
                        ClientSession(read, write) as session):
                await session.initialize()
                if what == "list":
                    return (await session.list_tools()).tools
                return await session.call_tool(name or "", arguments or {})


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        found: list[BaseException] = []
        for inner in exc.exceptions:
            found += _leaves(inner)
        return found
    return [exc]


def _translate(exc: BaseException, url: str, timeout_s: float) -> McpGatewayError:
    for leaf in _leaves(exc):
        if isinstance(leaf, httpx.HTTPStatusError):
            status = leaf.response.status_code
            try:
                detail = leaf.response.json()["error"]["message"]
            except Exception:  # a streamed response may be unread; the status says enough
                detail = leaf.response.reason_phrase
            if status in (400, 401, 403, 404, 409):
                return GatewayAuthError(f"the gateway refused the call ({status}): {detail}", status)
            return GatewayUnavailable(f"the gateway answered {status}: {detail}")
        if isinstance(leaf, TimeoutError | httpx.TimeoutException):
            return GatewayUnavailable(f"no answer from {url} within {timeout_s:g} s")
        if isinstance(leaf, httpx.HTTPError | OSError):
            return GatewayUnavailable(f"cannot reach {url}: {leaf}")
    first = _leaves(exc)[0]
    return McpGatewayError(f"MCP call to {url} failed: {type(first).__name__}: {first}")


def _run(coro_factory: Any, url: str, timeout_s: float) -> Any:
    async def guarded() -> Any:
        try:
            return await coro_factory()
        except McpGatewayError:
            raise
        except BaseException as exc:  # the client's task groups raise exception groups
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            raise _translate(exc, url, timeout_s) from exc

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(guarded())
    # Called from async code (a running loop in this thread): run on a helper thread with its own loop.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, guarded()).result()


def list_tools(base_url: str, api_key: str, tenant_id: str, *, domain: str = "default",
               timeout_s: float = 10.0, identity: str | None = None) -> list[dict[str, Any]]:
    """The tools this tenant may use: [{"name", "description", "input_schema"}]."""
    headers = _headers(api_key, tenant_id, domain, identity)
    tools = _run(lambda: _session_call(base_url, headers, timeout_s, "list"), _mcp_url(base_url), timeout_s)
    return [{"name": t.name, "description": t.description or "", "input_schema": t.inputSchema} for t in tools]


def call_tool(base_url: str, api_key: str, tenant_id: str, name: str, arguments: dict[str, Any],
              timeout_s: float = 10.0, *, domain: str = "default", identity: str | None = None) -> dict[str, Any]:
    """The tool's JSON result, or a `McpGatewayError` saying why there is none."""
    headers = _headers(api_key, tenant_id, domain, identity)
    result = _run(lambda: _session_call(base_url, headers, timeout_s, "call", name, arguments),
                  _mcp_url(base_url), timeout_s)
    text = "".join(getattr(block, "text", "") for block in result.content)
    if result.isError:
        try:
            error = json.loads(text)["error"]
            raise ToolCallError(name, str(error.get("code")), str(error.get("message")), error.get("field"))
        except (ValueError, KeyError, TypeError):
            raise ToolCallError(name, "tool_error", text or "the tool failed") from None
    if isinstance(result.structuredContent, dict):
        return dict(result.structuredContent)
    try:
        parsed = json.loads(text)
    except ValueError:
        return {"text": text}
    return parsed if isinstance(parsed, dict) else {"result": parsed}
