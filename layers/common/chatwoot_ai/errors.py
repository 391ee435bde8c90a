"""One error shape for every endpoint: `{"error": {"code", "message", "field"}}` (CONTRACT.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError


class ApiError(Exception):
    """An error a caller can act on. Raised by domain code, shaped into a response by the handler."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"error": error}


def not_found(message: str, field: str | None = None) -> ApiError:
    return ApiError(404, "not_found", message, field)


def unauthorized(message: str = "missing or invalid credentials") -> ApiError:
    return ApiError(401, "unauthorized", message)


def bad_request(message: str, field: str | None = None, code: str = "invalid_request") -> ApiError:
    return ApiError(400, code, message, field)


def field_path(loc: Sequence[int | str]) -> str:
    """pydantic's error location as a dotted path: ("lines", 0, "quantity") -> "lines.0.quantity"."""
    return ".".join(str(part) for part in loc)


def from_validation_error(exc: ValidationError, prefix: str = "") -> ApiError:
    """The first pydantic error as a 422 naming the field; the rest are listed in the message."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0] if errors else {"loc": (), "msg": "invalid"}
    path = field_path(first.get("loc", ()))
    if prefix:
        path = f"{prefix}.{path}" if path else prefix
    details = "; ".join(
        f"{field_path(err.get('loc', ())) or '(body)'}: {err.get('msg', 'invalid')}" for err in errors[:5]
    )
    return ApiError(422, "validation_error", details, path or None)


def error_json(error: ApiError) -> str:
    return json.dumps(error.body(), ensure_ascii=False)
