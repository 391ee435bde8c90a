"""What every HTTP API shares: the error body, the one JSON body reader, header lookup and the admin key.

Powertools' event handler is imported only inside the functions that build its responses: the webhook receiver reads
its single route's event itself (see webhook_receiver) and uses the same reader and lookups without that import.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from chatwoot_ai.errors import ApiError, bad_request, error_json, from_validation_error, unauthorized
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter, Router

ModelT = TypeVar("ModelT", bound=BaseModel)


# ---------------------------------------------------------------- requests
def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A request header, case-insensitively (API Gateway v2 lower-cases them; other callers may not), trimmed."""
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if key.lower() == wanted:
            return value.strip() if value else None
    return None


def read_json(body: str | bytes | None, *, object_only: bool = False) -> Any:
    """The request body parsed as JSON, or a 400 saying it is missing, not JSON, or (`object_only`) not an object."""
    if not body:
        raise bad_request("request body is required", code="missing_body")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"body is not valid JSON: {exc}", code="invalid_json") from exc
    if object_only and not isinstance(data, dict):
        raise bad_request("body must be a JSON object", code="invalid_json")
    return data


def parse_body(app: BaseRouter, model: type[ModelT]) -> ModelT:
    """The request body as `model`, or a 400/422 naming what is wrong."""
    data = read_json(app.current_event.decoded_body)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc


def raw_body(event: dict[str, Any]) -> bytes:
    """An API Gateway v2 event's body exactly as sent (a signature covers these bytes, not a re-serialization)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8")


# ---------------------------------------------------------------- the admin key
def is_admin(headers: Mapping[str, str] | None) -> bool:
    """`X-Api-Key` equals ADMIN_API_KEY (compared in constant time; an unset key locks everything)."""
    expected = get_settings().admin_api_key.get_secret_value()
    given = header(headers, "x-api-key") or ""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def require_admin_key(headers: Mapping[str, str] | None) -> None:
    if not is_admin(headers):
        raise unauthorized("X-Api-Key is missing or wrong")


def require_admin(app: BaseRouter) -> None:
    """401 unless the current request carries the admin key."""
    require_admin_key(app.current_event.headers)


# ---------------------------------------------------------------- responses
def error_for(exc: Exception, unexpected: str = "unhandled error") -> ApiError:
    """Any exception as the error a caller sees: itself, a 422 naming the field, or a 500 that tells nothing (the
    details go to the log under `unexpected`)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ValidationError):
        return from_validation_error(exc)
    logger.exception(unexpected)
    return ApiError(500, "internal_error", "internal error; see the function logs")


def http_result(status: int, body: dict[str, Any]) -> dict[str, Any]:
    """An API Gateway v2 result, for a handler without a resolver."""
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps(body, ensure_ascii=False)}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    from aws_lambda_powertools.event_handler import Response, content_types

    return Response(status_code=status, content_type=content_types.APPLICATION_JSON,
                    body=json.dumps(body, ensure_ascii=False, default=str), headers=headers or {})


def http_api(*routers: Router) -> APIGatewayHttpResolver:
    """An HTTP API's resolver: the CONTRACT.md error shape, and the routes of `routers` (chatwoot_ai.routes)."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    app = APIGatewayHttpResolver()
    install_error_handlers(app)
    for router in routers:
        app.include_router(router)
    return app


def install_error_handlers(app: APIGatewayHttpResolver) -> None:
    """Every exception becomes the CONTRACT.md error body; unexpected ones are logged and never leak details."""
    from aws_lambda_powertools.event_handler import Response, content_types

    def respond(err: ApiError) -> Response:
        return Response(status_code=err.status, content_type=content_types.APPLICATION_JSON, body=error_json(err))

    @app.exception_handler(Exception)
    def _any_error(exc: Exception) -> Response:
        return respond(error_for(exc))

    @app.not_found
    def _not_found(_exc: Exception) -> Response:
        return respond(ApiError(404, "not_found",
                                f"no route for {app.current_event.http_method} {app.current_event.path}"))
