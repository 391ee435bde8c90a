"""What can go wrong talking to a tenant's Odoo, as the errors a caller sees (CONTRACT.md error body).

502 when Odoo answered with a fault (its message, without the server traceback) or could not be reached; 504 when it
did not answer within the tenant's timeout; 403 when a write tool is off for the tenant.
"""

from __future__ import annotations

from chatwoot_ai.errors import ApiError

# Odoo's XML-RPC fault codes (odoo/service/wsgi_server.py).
FAULT_WARNING = 2
FAULT_ACCESS_DENIED = 3
FAULT_ACCESS_ERROR = 4


def fault_message(fault_string: str) -> str:
    """Odoo's message without the traceback: user errors come bare, programming errors as a formatted traceback
    whose last line ("ValueError: Invalid field ...") is the message."""
    text = (fault_string or "").strip()
    if text.startswith("Traceback (most recent call last):"):
        lines = [line for line in text.splitlines() if line.strip()]
        return lines[-1].strip() if lines else text
    return text


def odoo_fault(message: str, *, code: int | None = None) -> ApiError:
    if code == FAULT_ACCESS_DENIED:
        return ApiError(502, "odoo_access_denied", f"Odoo refused the credentials: {message}")
    return ApiError(502, "odoo_error", f"Odoo: {message}")


def odoo_timeout(timeout_s: float) -> ApiError:
    return ApiError(504, "odoo_timeout", f"Odoo did not answer within {timeout_s:g} s")


def odoo_unreachable(detail: str) -> ApiError:
    return ApiError(502, "odoo_unreachable", f"Odoo could not be reached: {detail}")


def odoo_auth_failed(username: str, db: str) -> ApiError:
    return ApiError(502, "odoo_auth_failed",
                    f"Odoo rejected the login {username!r} on database {db!r}: check odoo.username and odoo_api_key")


def write_disabled(operation: str) -> ApiError:
    return ApiError(403, "write_disabled",
                    f"{operation} is disabled for this tenant: set odoo.allow_write to true in its config")


def not_allowed(model: str, method: str) -> ApiError:
    """A programming error on our side: the gateway only ever calls the allow-listed (model, method) pairs."""
    return ApiError(500, "odoo_call_not_allowed", f"{model}.{method} is not on the gateway's allow-list")
