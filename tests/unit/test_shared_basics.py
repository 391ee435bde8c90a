"""chatwoot_ai basics every handler relies on: the error body, body parsing, admin auth, settings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel, Field

from chatwoot_ai.api import install_error_handlers, json_response, parse_body, require_admin
from chatwoot_ai.errors import ApiError
from chatwoot_ai.models import channel_from_chatwoot, mask_secret
from chatwoot_ai.settings import get_settings, reset_settings


class Order(BaseModel):
    customer_id: int
    quantity: int = Field(gt=0)


def make_app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()
    install_error_handlers(app)

    @app.post("/orders")
    def create() -> Any:
        require_admin(app)
        order = parse_body(app, Order)
        return json_response(201, order.model_dump())

    @app.get("/boom")
    def boom() -> Any:
        raise RuntimeError("secret detail")

    return app


def event(method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "version": "2.0", "routeKey": f"{method} {path}", "rawPath": path, "rawQueryString": "",
        "headers": headers or {}, "isBase64Encoded": False, "body": body,
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "127.0.0.1"}, "stage": "$default",
                           "requestId": "r"},
    }


@pytest.fixture(autouse=True)
def admin_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_API_KEY", "right-key-1234567890")
    reset_settings()
    yield
    reset_settings()


def call(**kwargs: Any) -> tuple[int, dict[str, Any]]:
    result = make_app().resolve(event(**kwargs), None)
    return result["statusCode"], json.loads(result["body"])


def test_valid_request_passes() -> None:
    status, body = call(method="POST", path="/orders", body='{"customer_id": 1, "quantity": 2}',
                        headers={"x-api-key": "right-key-1234567890"})
    assert status == 201 and body == {"customer_id": 1, "quantity": 2}


def test_wrong_or_missing_key_is_401_with_the_contract_error_body() -> None:
    status, body = call(method="POST", path="/orders", body="{}", headers={"x-api-key": "wrong"})
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, _ = call(method="POST", path="/orders", body="{}")
    assert status == 401


def test_invalid_json_and_invalid_fields_name_the_problem() -> None:
    headers = {"x-api-key": "right-key-1234567890"}
    status, body = call(method="POST", path="/orders", body="{not json", headers=headers)
    assert status == 400 and body["error"]["code"] == "invalid_json"
    status, body = call(method="POST", path="/orders", body='{"customer_id": 1, "quantity": 0}', headers=headers)
    assert status == 422 and body["error"]["field"] == "quantity"


def test_unexpected_errors_are_500_without_details() -> None:
    status, body = call(method="GET", path="/boom")
    assert status == 500
    assert "secret detail" not in json.dumps(body)


def test_unknown_route_is_404() -> None:
    status, body = call(method="GET", path="/nothing")
    assert status == 404 and body["error"]["code"] == "not_found"


def test_api_error_body_has_field_only_when_known() -> None:
    assert ApiError(400, "x", "m").body() == {"error": {"code": "x", "message": "m"}}
    assert ApiError(400, "x", "m", "a.b").body()["error"]["field"] == "a.b"


def test_unset_admin_key_locks_management_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_API_KEY", "")
    reset_settings()
    status, _ = call(method="POST", path="/orders", body="{}", headers={"x-api-key": ""})
    assert status == 401


def test_helpers() -> None:
    assert channel_from_chatwoot("Channel::Whatsapp") == "whatsapp"
    assert channel_from_chatwoot("Channel::WebWidget") == "web_widget"
    assert channel_from_chatwoot(None) == "api"
    assert mask_secret("supersecretvalue1234") == "****1234"
    assert mask_secret("short") == "****"
    assert get_settings().admin_api_key.get_secret_value() == "right-key-1234567890"
    assert "right-key" not in repr(get_settings())


def test_grouped_settings_read_the_same_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    names = {"AWS_REGION": "sa-east-1", "HISTORY_TABLE": "h", "CONFIG_MAX_STALENESS_S": "7",
             "WEBHOOK_MAX_BODY_BYTES": "1024", "CONVERSATION_DEBOUNCE_S": "0.5", "SPECIALIST_TIMEOUT_S": "9",
             "CREW_PARALLEL_SPECIALISTS": "false", "CHATWOOT_MAX_ATTEMPTS": "2", "ODOO_GATEWAY_URL": "http://gw",
             "ODOO_STOCK_CACHE_TTL_S": "3", "SEARCH_RRF_K": "40"}
    for name, value in names.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    settings = get_settings()
    assert (settings.aws.region, settings.resources.history_table, settings.config_cache.max_staleness_s) == \
        ("sa-east-1", "h", 7)
    assert (settings.webhook.max_body_bytes, settings.conversation.debounce_s) == (1024, 0.5)
    assert (settings.conversation.specialist_timeout_s, settings.conversation.parallel_specialists) == (9, False)
    assert (settings.chatwoot.max_attempts, settings.odoo.gateway_url, settings.odoo.stock_cache_ttl_s) == \
        (2, "http://gw", 3)
    assert settings.search_rrf_k == 40  # the vector package's knobs stay flat
