"""The Config API's routes (docs/config.md): versioned documents, the mapping, and the Odoo webhook.

Management routes need `X-Api-Key`; `POST /odoo-webhook` is signed per tenant instead (config.odoo_delivery).
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from chatwoot_ai import aws
from chatwoot_ai.api import header, json_response, parse_body, read_json, request_body, require_admin
from chatwoot_ai.config.crypto import CredentialsCipher
from chatwoot_ai.config.odoo_delivery import OdooWebhook
from chatwoot_ai.config.service import ConfigService, precondition_failed
from chatwoot_ai.config.tables import ConfigStore, MappingStore
from chatwoot_ai.errors import bad_request
from chatwoot_ai.memo import per_settings
from chatwoot_ai.models import DEFAULT_INSTALLATION, MAX_ID, Mapping, check_identifier, check_installation
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import Settings

router = APIGatewayHttpRouter()


@per_settings
def config_service(settings: Settings) -> ConfigService:
    client = aws.client("dynamodb")
    cipher = CredentialsCipher(aws.client("kms"), settings.resources.credentials_kms_key_id)
    return ConfigService(client, ConfigStore(client, settings.resources.config_table, cipher),
                         MappingStore(client, settings.resources.mapping_table),
                         credential_versions=settings.config_cache.credential_versions)


@per_settings
def odoo_webhook(settings: Settings) -> OdooWebhook:
    return OdooWebhook(config_service(), settings.resources.idempotency_table)


class MappingsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mappings: list[Mapping] = Field(max_length=100)


def _ids(tenant_id: str, domain: str, config_type: str | None = None) -> None:
    for value, name in ((tenant_id, "tenant_id"), (domain, "domain"), (config_type, "config_type")):
        if value is None:
            continue
        try:
            check_identifier(value, name)
        except ValueError as exc:
            raise bad_request(str(exc), name) from exc


def _int(value: str | None, name: str, minimum: int = 0) -> int:
    try:
        number = int((value or "").strip().removeprefix("W/").strip('"'))
    except ValueError as exc:
        raise bad_request(f"{name} must be a version number", name) from exc
    if number < minimum:
        raise bad_request(f"{name} must be at least {minimum}", name)
    if number > MAX_ID:
        raise bad_request(f"{name} must be at most {MAX_ID}", name)
    return number


def _flag(name: str) -> bool:
    return (router.current_event.get_query_string_value(name) or "").lower() in ("1", "true", "yes")


VIEWER_CLIENT = "viewer"


def writer(caller: str = "admin") -> str:
    """Who writes, recorded on the version (`written_by`): the caller's description ("admin" for the admin key;
    part B's tenant keys pass "tenant-key:<id>"), or "viewer" when the Config Viewer says so with `X-Client: viewer`
    (it holds the admin key: the header only labels the version, it grants nothing)."""
    client = (header(router.current_event.headers, "x-client") or "").lower()
    return VIEWER_CLIENT if caller == "admin" and client == VIEWER_CLIENT else caller


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


# ---------------------------------------------------------------- documents
@router.get("/configs")
def list_tenants() -> Response:
    require_admin(router)
    return json_response(200, config_service().tenants())


@router.get("/configs/<tenant_id>/<domain>/<config_type>")
def get_document(tenant_id: str, domain: str, config_type: str) -> Response:
    require_admin(router)
    _ids(tenant_id, domain, config_type)
    raw = router.current_event.get_query_string_value("version")
    version = _int(raw, "version", 1) if raw else None
    doc = config_service().get(tenant_id, domain, config_type, version)
    return json_response(200, doc, _etag(doc["version"]))


@router.get("/configs/<tenant_id>/<domain>/<config_type>/versions")
def list_versions(tenant_id: str, domain: str, config_type: str) -> Response:
    require_admin(router)
    _ids(tenant_id, domain, config_type)
    return json_response(200, config_service().versions(tenant_id, domain, config_type))


@router.put("/configs/<tenant_id>/<domain>/<config_type>")
def put_document(tenant_id: str, domain: str, config_type: str) -> Response:
    require_admin(router)
    _ids(tenant_id, domain, config_type)
    if_match = header(router.current_event.headers, "if-match") or ""
    service = config_service()
    expected = _int(if_match, "If-Match") if if_match and if_match != "*" else None
    data = read_json(request_body(router))
    if if_match == "*" and service.configs.head_version(tenant_id, domain, config_type) is None:
        raise precondition_failed(None, "*")  # "*": only if it exists (a deleted one exists, as a tombstone)
    result = service.put(tenant_id, domain, config_type, data, expected, written_by=writer())
    logger.info("document stored", extra={"tenant_id": tenant_id, "domain": domain, "config_type": config_type,
                                          "version": result["version"], "written_by": result["written_by"]})
    return json_response(200, result, _etag(result["version"]))


@router.delete("/configs/<tenant_id>/<domain>/<config_type>")
def delete_document(tenant_id: str, domain: str, config_type: str) -> Response:
    """A tombstone version: GET answers 404 afterwards, the earlier versions stay (restore = PUT one back)."""
    require_admin(router)
    _ids(tenant_id, domain, config_type)
    if_match = header(router.current_event.headers, "if-match") or ""
    expected = _int(if_match, "If-Match") if if_match and if_match != "*" else None
    result = config_service().put(tenant_id, domain, config_type, None, expected, written_by=writer(), delete=True)
    logger.info("document deleted", extra={"tenant_id": tenant_id, "domain": domain, "config_type": config_type,
                                           "version": result["version"], "written_by": result["written_by"]})
    return json_response(200, result, _etag(result["version"]))


# ---------------------------------------------------------------- mapping
@router.get("/mapping")
def get_mappings() -> Response:
    require_admin(router)
    return json_response(200, config_service().list_mappings())


@router.put("/mapping")
def put_mappings() -> Response:
    require_admin(router)
    body = parse_body(router, MappingsBody)
    return json_response(200, config_service().put_mappings(body.mappings, force=_flag("force")))


@router.delete("/mapping/<account_id>/<inbox_id>")
def delete_mapping(account_id: str, inbox_id: str) -> Response:
    require_admin(router)
    account = _int(account_id, "account_id", 1)
    inbox = None if inbox_id.lower() in ("null", "*", "none") else _int(inbox_id, "inbox_id", 1)
    installation = router.current_event.get_query_string_value("installation") or DEFAULT_INSTALLATION
    try:
        check_installation(installation)
    except ValueError as exc:
        raise bad_request(str(exc), "installation") from exc
    return json_response(200, config_service().delete_mapping(account, inbox, installation))


# ---------------------------------------------------------------- Odoo
@router.post("/odoo-webhook")
def odoo_delivery() -> Response:
    return json_response(200, odoo_webhook().handle(request_body(router), dict(router.current_event.headers or {})))
