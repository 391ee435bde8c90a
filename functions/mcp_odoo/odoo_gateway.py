"""OdooGatewayFunction: REST over the caller's tenant's Odoo (chatwoot_ai.routes.odoo_gateway) and the MCP server at
/mcp (chatwoot_ai.odoo.mcp_server); FastAPI + Mangum, because the `mcp` SDK's server is ASGI. Tenant from
`X-Tenant-Id` (+ `X-Domain`), auth `X-Api-Key`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from mangum import Mangum
from starlette.routing import Route

from chatwoot_ai.middleware import config_changes
from chatwoot_ai.observability import logger
from chatwoot_ai.odoo.mcp_server import McpEndpoint
from chatwoot_ai.routes.odoo_gateway import install_error_handlers, router

app = FastAPI(title="Chatwoot AI - Odoo gateway", docs_url=None, redoc_url=None, openapi_url=None)
install_error_handlers(app)
app.include_router(router)
app.router.routes.append(Route("/mcp", endpoint=McpEndpoint()))

# lifespan="off": nothing needs a lifespan (the MCP endpoint runs its stateless session manager per request).
_asgi = Mangum(app, lifespan="off")


@logger.inject_lambda_context(clear_state=True)
@config_changes
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # One event loop per invocation: Lambda runs one invocation at a time, but the local runner calls this from many
    # threads, and a loop must never be shared between threads.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return _asgi(event, context)
    finally:
        asyncio.set_event_loop(None)
        loop.close()
