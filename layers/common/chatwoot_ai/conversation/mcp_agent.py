"""The MCP agent's tools: the Odoo gateway's MCP tools (`/mcp`) as crewai tools, bound to one tenant and one customer.

The tenant goes in the `X-Tenant-Id` header from the mapping, and the customer in a signed `X-Customer-Identity`
token (chatwoot_ai.identity) made from the Chatwoot contact of the conversation; neither is an argument the LLM can
fill. The token is also the worker's only credential at the gateway (no admin key): it opens that tenant's tools,
and the order and customer tools answer for that contact only. Write tools (create_customer, create_quotation) are
left out: the crew only reads.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from pydantic import BaseModel, Field, create_model

from chatwoot_ai.identity import CustomerIdentity, can_sign, sign_identity
from chatwoot_ai.memo import once
from chatwoot_ai.observability import logger

READ_TOOLS = {"search_products", "get_product", "check_stock", "find_customer", "get_order_status"}
_TOOLS_TTL_S = 300.0
_JSON_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool,
                                "array": list, "object": dict}

_lock = threading.Lock()
_schemas: dict[tuple[str, str, str], tuple[float, list[dict[str, Any]]]] = {}


def _args_model(tool_name: str, schema: dict[str, Any]) -> type[BaseModel]:
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    fields: dict[str, Any] = {}
    for name, prop in properties.items():
        if name in ("tenant_id", "domain"):  # never let the model choose whose data it reads
            continue
        kind: Any = _JSON_TYPES.get(str(prop.get("type")), str)
        description = str(prop.get("description") or "")
        if name in required:
            fields[name] = (kind, Field(description=description))
        else:
            fields[name] = (kind | None, Field(default=prop.get("default"), description=description))
    model: type[BaseModel] = create_model(f"{tool_name.title().replace('_', '')}Args", **fields)
    return model


def nobody(tenant_id: str, domain: str) -> CustomerIdentity:
    """The identity of a turn without a known contact: the tenant's catalogue tools work, order and customer lookups
    answer `verification_required`."""
    return CustomerIdentity(tenant_id=tenant_id, domain=domain, account_id=0, conversation_id=0)


class McpToolsFactory:
    """`factory(tenant_id, domain, customer) -> list[crewai BaseTool]`; tool lists are cached per tenant for 5
    minutes. Every call carries a freshly signed identity of `customer` (of nobody when None)."""

    def __init__(self, base_url: str, timeout_s: float = 8.0) -> None:
        self.base_url = base_url
        self.timeout_s = timeout_s

    def available(self) -> bool:
        return bool(self.base_url) and can_sign()

    def _list(self, tenant_id: str, domain: str) -> list[dict[str, Any]]:
        from chatwoot_ai.odoo.mcp_tools import list_tools

        key = (self.base_url, tenant_id, domain)
        cached = _schemas.get(key)
        if cached and time.monotonic() - cached[0] < _TOOLS_TTL_S:
            return cached[1]
        tools = [t for t in list_tools(self.base_url, "", tenant_id, domain=domain, timeout_s=self.timeout_s,
                                       identity=sign_identity(nobody(tenant_id, domain)))
                 if t["name"] in READ_TOOLS]
        with _lock:
            _schemas[key] = (time.monotonic(), tools)
        return tools

    def __call__(self, tenant_id: str, domain: str, customer: CustomerIdentity | None = None) -> list[Any]:
        from chatwoot_ai.odoo.mcp_tools import McpGatewayError

        if customer is None or customer.tenant_id != tenant_id or customer.domain != domain:
            customer = nobody(tenant_id, domain)
        try:
            specs = self._list(tenant_id, domain)
        except McpGatewayError as exc:
            logger.warning("Odoo gateway unavailable; no MCP tools this turn",
                           extra={"tenant_id": tenant_id, "error": str(exc)})
            return []
        tool_class = _tool_class()
        return [tool_class(name=spec["name"], description=(spec.get("description") or spec["name"])[:500],
                           args_schema=_args_model(spec["name"], spec.get("input_schema") or {}),
                           mcp_base_url=self.base_url, mcp_customer=customer, mcp_tenant_id=tenant_id,
                           mcp_domain=domain, mcp_timeout_s=self.timeout_s)
                for spec in specs]


@once
def _tool_class() -> Any:
    """A crewai BaseTool that calls one gateway tool; defined on first use so crewai loads only in the worker."""
    from chatwoot_ai.conversation.agents import ensure_crewai

    ensure_crewai()  # crewai's settings (telemetry off, in-process locks) before its first import
    from crewai.tools import BaseTool

    from chatwoot_ai.odoo.mcp_tools import McpGatewayError, call_tool

    class OdooMcpTool(BaseTool):  # type: ignore[misc]
        mcp_base_url: str
        mcp_customer: Any  # CustomerIdentity: signed again at each call (the token expires)
        mcp_tenant_id: str
        mcp_domain: str = "default"
        mcp_timeout_s: float = 8.0
        mcp_errors: list[str] = Field(default_factory=list)  # codes of the calls that failed this turn

        def _run(self, **kwargs: Any) -> str:
            arguments = {k: v for k, v in kwargs.items() if v is not None}
            try:
                result = call_tool(self.mcp_base_url, "", self.mcp_tenant_id, self.name, arguments,
                                   timeout_s=self.mcp_timeout_s, domain=self.mcp_domain,
                                   identity=sign_identity(self.mcp_customer))
            except McpGatewayError as exc:
                self.mcp_errors.append(getattr(exc, "code", "mcp_error"))
                # The agent reads this; it never reaches the customer (the response agent only states facts).
                logger.warning("MCP tool failed", extra={"tool": self.name, "tenant_id": self.mcp_tenant_id,
                                                         "error": str(exc)})
                return json.dumps({"error": getattr(exc, "code", "mcp_error")})
            return json.dumps(result, ensure_ascii=False, default=str)[:4000]

    return OdooMcpTool
