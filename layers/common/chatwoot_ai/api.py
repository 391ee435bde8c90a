"""Glue shared by the HTTP handlers built on Powertools' APIGatewayHttpResolver: error shaping, JSON bodies, auth."""

from __future__ import annotations

import hmac
import json
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from pydantic import BaseModel, ValidationError

from chatwoot_ai.errors import ApiError, bad_request, error_json, from_validation_error, unauthorized
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import get_settings

ModelT = TypeVar("ModelT", bound=BaseModel)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, ensure_ascii=False, default=str),
        headers=headers or {},
    )


def install_error_handlers(app: APIGatewayHttpResolver) -> None:
    """Every exception becomes the CONTRACT.md error body; unexpected ones are logged and never leak details."""

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return Response(status_code=exc.status, content_type=content_types.APPLICATION_JSON, body=error_json(exc))

    @app.exception_handler(ValidationError)
    def _validation_error(exc: ValidationError) -> Response:
        err = from_validation_error(exc)
        return Response(status_code=err.status, content_type=content_types.APPLICATION_JSON, body=error_json(err))

    @app.not_found
    def _not_found(_exc: Exception) -> Response:
        err = ApiError(404, "not_found", f"no route for {app.current_event.http_method} {app.current_event.path}")
        return Response(status_code=404, content_type=content_types.APPLICATION_JSON, body=error_json(err))

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        err = ApiError(500, "internal_error", "internal error; see the function logs")
        return Response(status_code=500, content_type=content_types.APPLICATION_JSON, body=error_json(err))


def read_json(app: APIGatewayHttpResolver) -> Any:
    """The request body parsed as JSON, or a 400 saying it is missing or not JSON."""
    raw = app.current_event.decoded_body
    if not raw:
        raise bad_request("request body is required", code="missing_body")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"body is not valid JSON: {exc}", code="invalid_json") from exc


def parse_body(app: APIGatewayHttpResolver, model: type[ModelT]) -> ModelT:
    """The request body as `model`, or a 400/422 naming what is wrong."""
    data = read_json(app)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc


def header(app: APIGatewayHttpResolver, name: str) -> str | None:
    """A request header, case-insensitively (API Gateway v2 lower-cases them; other callers may not)."""
    headers = app.current_event.headers or {}
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def require_admin(app: APIGatewayHttpResolver) -> None:
    """401 unless `X-Api-Key` equals ADMIN_API_KEY (compared in constant time; an unset key locks everything)."""
    expected = get_settings().admin_api_key.get_secret_value()
    given = header(app, "x-api-key") or ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise unauthorized("X-Api-Key is missing or wrong")
