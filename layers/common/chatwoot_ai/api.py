"""What every HTTP API shares: the error body, the one JSON body reader, header lookup and the admin key.

Powertools' event handler is imported only inside the functions that build its responses: the webhook receiver reads
its single route's event itself (see webhook_receiver) and uses the same reader and lookups without that import.
"""

from __future__ import annotations

import base64
import hmac
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from chatwoot_ai.errors import ApiError, bad_request, error_json, from_validation_error
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


# Every API's body goes through read_json: the limits of a hostile body (issue 16) are checked in one place.
MAX_BODY_BYTES = 6 * 1024 * 1024  # Lambda's synchronous payload limit: nothing larger reaches a function in AWS
MAX_JSON_DEPTH = 64  # our deepest document (a config with per-channel overrides) nests 4 levels
_NOT_A_NUMBER = ("NaN", "Infinity", "-Infinity")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def check_json_value(data: Any, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise ValueError unless `data` nests at most `max_depth` containers, its strings (keys too) are valid Unicode
    (no lone surrogate from a `\\ud800` escape) and its numbers are finite. Iterative: no recursion to exhaust."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > max_depth:
                raise ValueError(f"JSON nests deeper than {max_depth} levels")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    stack.append((key, depth))
                stack.append((item, depth + 1))
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError("a string holds a lone surrogate (not valid Unicode)") from exc
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValueError("numbers must be finite")


def read_json(body: str | bytes | None, *, object_only: bool = False, max_bytes: int = MAX_BODY_BYTES) -> Any:
    """The request body parsed as JSON, or an error naming the field `body`: 400 when it is missing, not UTF-8, not
    JSON, nested deeper than MAX_JSON_DEPTH, holds a lone surrogate or a non-finite number, or (`object_only`) is
    not an object; 413 over `max_bytes`."""
    if not body:
        raise bad_request("request body is required", "body", code="missing_body")
    if len(body) > max_bytes:
        raise ApiError(413, "payload_too_large", f"body over {max_bytes} bytes", "body")
    if isinstance(body, bytes | bytearray):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise bad_request(f"body is not valid UTF-8 (byte {exc.start})", "body", code="invalid_json") from exc
    try:
        data = json.loads(body, parse_constant=_refuse_constant)
        check_json_value(data)
    except RecursionError as exc:
        raise bad_request(f"JSON nests deeper than {MAX_JSON_DEPTH} levels", "body", code="invalid_json") from exc
    except ValueError as exc:
        raise bad_request(f"body is not valid JSON: {exc}", "body", code="invalid_json") from exc
    if object_only and not isinstance(data, dict):
        raise bad_request("body must be a JSON object", "body", code="invalid_json")
    return data


def request_body(app: BaseRouter) -> bytes:
    """The current request's body as sent (Powertools' `decoded_body` decodes base64 bodies as UTF-8 and raises on
    anything else; the reader says what is wrong instead)."""
    return raw_body(app.current_event.raw_event)


def parse_body(app: BaseRouter, model: type[ModelT]) -> ModelT:
    """The request body as `model`, or a 400/422 naming what is wrong."""
    data = read_json(request_body(app))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc


def raw_body(event: dict[str, Any]) -> bytes:
    """An API Gateway v2 event's body exactly as sent (a signature covers these bytes, not a re-serialization)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body)
        except ValueError as exc:
            raise bad_request("body is not valid base64", "body") from exc
    return str(body).encode("utf-8", "surrogatepass")


# ---------------------------------------------------------------- the admin key
def is_admin(headers: Mapping[str, str] | None) -> bool:
    """`X-Api-Key` equals ADMIN_API_KEY (compared in constant time; an unset key locks everything)."""
    expected = get_settings().admin_api_key.get_secret_value()
    given = header(headers, "x-api-key") or ""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def require_admin(app: BaseRouter) -> None:
    """An admin-only route: 401 without the admin key, 403 for a tenant key (chatwoot_ai.access decides)."""
    from chatwoot_ai.access import require_admin_access  # access reads headers with this module's helpers

    require_admin_access(app.current_event.headers)


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


def http_result(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway v2 result, for a handler without a resolver."""
    return {"statusCode": status, "headers": {"content-type": "application/json", **(headers or {})},
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
