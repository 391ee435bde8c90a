"""The MCP server of the Odoo gateway: seven tools over the caller's tenant's Odoo, streamable HTTP, stateless, JSON.

Permissions: read tools for every tenant; the write tools (`create_customer`, `create_quotation`) are listed only for
tenants whose config says `odoo.allow_write: true`, and a call to one of them from any other tenant is refused with a
`write_disabled` error before anything reaches Odoo. A model never sees a tool it cannot use.

Lambda and the session manager: the SDK's `StreamableHTTPSessionManager.run()` may be entered once per instance and
is meant for a server's lifespan. Under Mangum every invocation would run the lifespan again, and the local runner
calls the handler from many threads (one event loop each). Stateless mode keeps nothing between requests, so each
request gets its own small manager (`McpEndpoint`), entered and left inside that request: no lifespan, nothing shared
between event loops, and the cost is one task group per request.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Annotated, Any

from mcp import types
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from pydantic import Field, ValidationError
from starlette.types import Receive, Scope, Send

from chatwoot_ai.api import MAX_BODY_BYTES, read_json
from chatwoot_ai.errors import ApiError, error_json, from_validation_error
from chatwoot_ai.observability import logger
from chatwoot_ai.odoo import CustomerIn, QuotationIn, QuotationLine
from chatwoot_ai.odoo.faults import write_disabled
from chatwoot_ai.odoo.operations import ODOO_MAX_ID
from chatwoot_ai.odoo.tenant import TenantOdoo, resolve_tenant

WRITE_TOOLS = frozenset({"create_customer", "create_quotation"})
current_tenant: ContextVar[TenantOdoo] = ContextVar("odoo_gateway_tenant")

INSTRUCTIONS = (
    "Tools over this business's Odoo ERP (products, stock, customers, orders). Results are compact JSON; null "
    "means unknown or empty. Product ids are the ids to use in quotations. Write tools appear only when the "
    "business allows them."
)


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _error_result(error: ApiError) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=error_json(error))], isError=True)


def _ops() -> Any:
    return current_tenant.get().operations()


class GatewayMCP(FastMCP):
    """FastMCP with per-tenant tool lists and refusals, and compact JSON results."""

    def __init__(self) -> None:
        super().__init__(name="chatwoot-ai-odoo", instructions=INSTRUCTIONS, stateless_http=True,
                         json_response=True, log_level="WARNING")
        self._mcp_server.list_tools()(self._list_tools_for_tenant)
        self._mcp_server.call_tool(validate_input=False)(self._call_tool_for_tenant)

    async def _list_tools_for_tenant(self) -> types.ListToolsResult:
        tenant = current_tenant.get(None)
        tools = await self.list_tools()
        if tenant is None or not tenant.allow_write:
            tools = [tool for tool in tools if tool.name not in WRITE_TOOLS]
        # A ListToolsResult (not a list) keeps the SDK from clearing its shared tool cache on every listing.
        return types.ListToolsResult(tools=tools)

    async def _call_tool_for_tenant(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        tenant = current_tenant.get()
        if name in WRITE_TOOLS and not tenant.allow_write:
            return _error_result(write_disabled(name))
        try:
            result = await self._tool_manager.call_tool(name, arguments, context=self.get_context())
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ApiError):
                if cause.status >= 500:
                    logger.warning("odoo tool failed", extra={"tenant_id": tenant.tenant_id, "tool": name,
                                                              "code": cause.code})
                return _error_result(cause)
            if isinstance(cause, ValidationError):
                return _error_result(from_validation_error(cause))
            if cause is None:  # unknown tool
                return _error_result(ApiError(404, "unknown_tool", str(exc)))
            logger.exception("odoo tool crashed", extra={"tenant_id": tenant.tenant_id, "tool": name})
            return _error_result(ApiError(500, "internal_error", "internal error; see the gateway logs"))
        return types.CallToolResult(content=[types.TextContent(type="text", text=_compact(result))],
                                    structuredContent=result)


server = GatewayMCP()

Limit = Annotated[int, Field(ge=1, le=20, description="how many results, 1-20")]
ProductId = Annotated[int, Field(ge=1, le=ODOO_MAX_ID, description="a product id from search_products")]


@server.tool(structured_output=False, annotations=types.ToolAnnotations(readOnlyHint=True, openWorldHint=False))
def search_products(
    query: Annotated[str, Field(max_length=200, description="words of the product's name or SKU, e.g. 'protetor "
                                                           "solar'; empty lists products")] = "",
    limit: Limit = 5,
) -> dict[str, Any]:
    """Find products for sale by name or SKU (then by description). Returns id, name, sku, price, currency,
    category, in_stock (null when stock is not tracked) and qty_available."""
    return dict(_ops().search_products(query, limit))


@server.tool(structured_output=False, annotations=types.ToolAnnotations(readOnlyHint=True, openWorldHint=False))
def get_product(product_id: ProductId) -> dict[str, Any]:
    """One product's details: price, description, unit, category and stock."""
    return dict(_ops().get_product(product_id))


@server.tool(structured_output=False, annotations=types.ToolAnnotations(readOnlyHint=True, openWorldHint=False))
def check_stock(product_id: ProductId) -> dict[str, Any]:
    """Quantity on hand for a product. tracked=false means Odoo does not count stock for it (in_stock is null)."""
    return dict(_ops().check_stock(product_id))


@server.tool(structured_output=False, annotations=types.ToolAnnotations(readOnlyHint=True, openWorldHint=False))
def find_customer(
    phone: Annotated[str | None, Field(max_length=40, description="phone in any format, e.g. +55 11 98765-4321")]
    = None,
    email: Annotated[str | None, Field(max_length=254)] = None,
) -> dict[str, Any]:
    """Find customers by phone or by e-mail (exactly one). Returns id, name, email, phone, city."""
    return dict(_ops().find_customer(phone=phone, email=email))


@server.tool(structured_output=False, annotations=types.ToolAnnotations(readOnlyHint=True, openWorldHint=False))
def get_order_status(
    ref: Annotated[str, Field(min_length=1, max_length=64, description="order reference, e.g. S00012")],
) -> dict[str, Any]:
    """An order's status (Orçamento, Pedido confirmado, ...), total, date and lines."""
    return dict(_ops().get_order_status(ref))


@server.tool(structured_output=False,
             annotations=types.ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=True,
                                               openWorldHint=False))
def create_customer(
    name: Annotated[str, Field(min_length=1, max_length=200)],
    email: Annotated[str | None, Field(max_length=254)] = None,
    phone: Annotated[str | None, Field(max_length=40)] = None,
    city: Annotated[str | None, Field(max_length=120)] = None,
) -> dict[str, Any]:
    """Create a customer (contact) in Odoo. With an e-mail that already exists, returns that customer instead
    (created=false)."""
    try:
        data = CustomerIn(name=name, email=email, phone=phone, city=city)
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    return dict(_ops().create_customer(data))


@server.tool(structured_output=False,
             annotations=types.ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False,
                                               openWorldHint=False))
def create_quotation(
    customer_id: Annotated[int, Field(ge=1, le=ODOO_MAX_ID, description="id from find_customer or create_customer")],
    lines: Annotated[list[QuotationLine], Field(min_length=1, max_length=50)],
    note: Annotated[str | None, Field(max_length=2000)] = None,
) -> dict[str, Any]:
    """Create a quotation (a draft sale order) for a customer; a salesperson confirms it in Odoo."""
    data = QuotationIn(customer_id=customer_id, lines=lines, note=note)
    return dict(_ops().create_quotation(data))


class McpEndpoint:
    """The ASGI app at /mcp: authenticate and pick the tenant, then serve one stateless MCP request."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        try:
            tenant = resolve_tenant(headers)
        except ApiError as exc:
            await _send_json(send, exc.status, error_json(exc))
            return
        if scope.get("method") == "POST":
            body = await _read_body(receive)
            refusal = jsonrpc_refusal(body)
            if refusal is not None:
                await _send_json(send, 400, refusal)
                return
            receive = _replay(body)
        token = current_tenant.set(tenant)
        try:
            manager = StreamableHTTPSessionManager(app=server._mcp_server, json_response=True, stateless=True)
            async with manager.run():
                await manager.handle_request(scope, receive, send)
        finally:
            current_tenant.reset(token)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY_BYTES:  # past the limit keep draining, but stop keeping: read_json refuses it
            chunks.append(chunk)
        else:
            chunks = [b"x" * (MAX_BODY_BYTES + 1)]
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    """A `receive` that hands the SDK the body already read."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive  # type: ignore[return-value]


def jsonrpc_refusal(body: bytes) -> str | None:
    """A JSON-RPC error for a body the SDK must not see (it answered -32603 to a deeply nested one): -32700 (parse
    error) when read_json refuses it (size, depth, UTF-8, not JSON), -32600 (invalid request) when it is not a
    request object (or a list of them) of JSON-RPC 2.0. None: hand it to the SDK."""
    try:
        data = read_json(body)
    except ApiError as exc:
        return _jsonrpc_error(-32700, f"Parse error: {exc.message}", exc.field)
    messages = data if isinstance(data, list) and data else [data]
    if not all(isinstance(m, dict) and m.get("jsonrpc") == "2.0" for m in messages):
        return _jsonrpc_error(-32600, "Invalid request: a JSON-RPC 2.0 object is expected", "body")
    return None


def _jsonrpc_error(code: int, message: str, field: str | None) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": None,
                       "error": {"code": code, "message": message, "data": {"field": field or "body"}}})


async def _send_json(send: Send, status: int, body: str) -> None:
    raw = body.encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]})
    await send({"type": "http.response.body", "body": raw})
