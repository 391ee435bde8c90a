"""The Odoo gateway's REST routes (docs/odoo.md) as a FastAPI router, and the error shape of the whole gateway.

The caller's tenant and its Odoo come from chatwoot_ai.odoo.tenant; the operations from chatwoot_ai.odoo.operations.
The MCP server at /mcp is chatwoot_ai.odoo.mcp_server.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from chatwoot_ai.errors import ApiError
from chatwoot_ai.observability import logger
from chatwoot_ai.odoo import CustomerIn, QuotationIn
from chatwoot_ai.odoo.operations import ODOO_MAX_ID
from chatwoot_ai.odoo.tenant import TenantOdoo, resolve_tenant

router = APIRouter()


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(ApiError(status, code, message, field).body(), status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    """Every error in the CONTRACT.md body: ours, FastAPI's validation (naming the field), Starlette's 404/405."""
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        if exc.status >= 500:
            logger.warning("odoo gateway error", extra={"tenant_id": request.headers.get("x-tenant-id"),
                                                        "path": request.url.path, "code": exc.code})
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        first = errors[0] if errors else {"loc": (), "msg": "invalid"}
        loc = [str(part) for part in first.get("loc", ())]
        field = ".".join(loc[1:] if loc and loc[0] in ("query", "body", "path", "header") else loc) or None
        message = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or '(body)'}: {e.get('msg')}"
                            for e in errors[:5])
        return _error(422, "validation_error", message, field)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return _error(404, "not_found", f"no route for {request.method} {request.url.path}")
        if exc.status_code == 405:
            return _error(405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}")
        return _error(exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return _error(500, "internal_error", "internal error; see the function logs")


# Routes are `async def` on purpose: each invocation has its own event loop (see odoo_gateway), and a sync route
# would hop to a worker thread of that short-lived loop. The blocking Odoo call simply runs in the invocation.
async def tenant(request: Request) -> TenantOdoo:
    return resolve_tenant(request.headers)


@router.get("/products")
async def search_products(q: str = Query("", max_length=200), limit: int = Query(5, ge=1, le=50),
                          t: TenantOdoo = Depends(tenant)) -> dict[str, Any]:
    return t.operations().search_products(q, limit)


@router.get("/products/{product_id}")
async def get_product(product_id: int, t: TenantOdoo = Depends(tenant)) -> dict[str, Any]:
    if not 1 <= product_id <= ODOO_MAX_ID:
        raise ApiError(422, "validation_error", f"product_id must be an integer from 1 to {ODOO_MAX_ID}",
                       "product_id")
    return t.operations().get_product(product_id)


@router.get("/customers")
async def find_customer(phone: str | None = Query(None, max_length=40), email: str | None = Query(None, max_length=254),
                        t: TenantOdoo = Depends(tenant)) -> dict[str, Any]:
    return t.operations().find_customer(phone=phone, email=email)


@router.post("/customers", status_code=201)
async def create_customer(body: CustomerIn, t: TenantOdoo = Depends(tenant)) -> Any:
    result = t.operations().create_customer(body)
    return result if result["created"] else JSONResponse(result, status_code=200)


@router.get("/orders/{ref}")
async def get_order(ref: str, t: TenantOdoo = Depends(tenant)) -> dict[str, Any]:
    return t.operations().get_order_status(ref)


@router.post("/orders", status_code=201)
async def create_quotation(body: QuotationIn, t: TenantOdoo = Depends(tenant)) -> dict[str, Any]:
    return t.operations().create_quotation(body)
