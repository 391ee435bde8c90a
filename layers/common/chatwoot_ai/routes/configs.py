"""The Config API's routes (docs/config.md): versioned documents, the mapping, tenant API keys and the Odoo webhook.

Who may call (chatwoot_ai.access): a tenant's documents and its key list take the admin key or one of that tenant's
keys; the tenant list, the mapping and key creation take the admin key only; `POST /odoo-webhook` is signed per
tenant instead (config.odoo_delivery).
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from chatwoot_ai import aws
from chatwoot_ai.access import Caller, api_keys, require_admin_access, require_tenant_access
from chatwoot_ai.api import header, json_response, parse_body, read_json, request_body
from chatwoot_ai.config.api_keys import MAX_KEYS_PER_TENANT
from chatwoot_ai.config.crypto import CredentialsCipher
from chatwoot_ai.config.hook_tokens import hook_tokens
from chatwoot_ai.config.odoo_delivery import OdooWebhook
from chatwoot_ai.config.service import WRITE_LOCK, ConfigService, precondition_failed, utc_now
from chatwoot_ai.config.tables import ConfigStore, MappingStore
from chatwoot_ai.errors import ApiError, bad_request, not_found
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


class ApiKeyBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    label: str | None = Field(default=None, max_length=100, pattern=r"^[^\x00-\x1f]*$")


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
    """Who writes, recorded on the version (`written_by`): the caller's description ("admin" for the admin key,
    "tenant_key:<id>" for a tenant key: access.Caller.describe), or "viewer" when the Config Viewer says so with
    `X-Client: viewer` (it holds the admin key: the header only labels the version, it grants nothing)."""
    client = (header(router.current_event.headers, "x-client") or "").lower()
    return VIEWER_CLIENT if caller == "admin" and client == VIEWER_CLIENT else caller


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _headers() -> dict[str, str]:
    return dict(router.current_event.headers or {})


def _admin() -> None:
    """401 without a key; 403 for a tenant key (admin-only route)."""
    require_admin_access(_headers())


def _tenant(tenant_id: str) -> Caller:
    """401 without a key; 403 for another tenant's key (checked before the ids, so a stranger learns nothing)."""
    return require_tenant_access(_headers(), tenant_id)


# ---------------------------------------------------------------- tenant API keys
# Registered before the document routes: `/configs/{tenant}/api-keys/{key_id}` would also match their pattern.
@router.post("/configs/<tenant_id>/api-keys")
def create_api_key(tenant_id: str) -> Response:
    """A new key for the tenant (admin key only): 201 with the key, shown this once; only its hash is stored."""
    _admin()
    _ids(tenant_id, "default")
    label = parse_body(router, ApiKeyBody).label if request_body(router).strip() else None
    store = api_keys()
    if len(store.list(tenant_id)) >= MAX_KEYS_PER_TENANT:
        raise ApiError(409, "too_many_keys", f"a tenant has at most {MAX_KEYS_PER_TENANT} keys: revoke one first")
    record, key = store.create(tenant_id, utc_now(), label or None)
    logger.info("api key created", extra={"tenant_id": tenant_id, "key_id": record.key_id})
    return json_response(201, {**record.public(), "key": key})


@router.get("/configs/<tenant_id>/api-keys")
def list_api_keys(tenant_id: str) -> Response:
    _tenant(tenant_id)
    _ids(tenant_id, "default")
    return json_response(200, {"tenant_id": tenant_id, "keys": [r.public() for r in api_keys().list(tenant_id)]})


@router.delete("/configs/<tenant_id>/api-keys/<key_id>")
def revoke_api_key(tenant_id: str, key_id: str) -> Response:
    """Revoke at once (the admin, or the tenant itself with any of its keys)."""
    _tenant(tenant_id)
    _ids(tenant_id, "default")
    record = api_keys().revoke(tenant_id, key_id)
    if record is None:
        raise not_found(f"tenant {tenant_id} has no key {key_id}", "key_id")
    logger.info("api key revoked", extra={"tenant_id": tenant_id, "key_id": key_id})
    return json_response(200, {"revoked": record.public()})


# ---------------------------------------------------------------- documents
@router.get("/configs")
def list_tenants() -> Response:
    _admin()
    return json_response(200, config_service().tenants())


@router.get("/configs/<tenant_id>/<domain>/<config_type>")
def get_document(tenant_id: str, domain: str, config_type: str) -> Response:
    _tenant(tenant_id)
    _ids(tenant_id, domain, config_type)
    raw = router.current_event.get_query_string_value("version")
    version = _int(raw, "version", 1) if raw else None
    doc = config_service().get(tenant_id, domain, config_type, version)
    return json_response(200, doc, _etag(doc["version"]))


@router.get("/configs/<tenant_id>/<domain>/<config_type>/versions")
def list_versions(tenant_id: str, domain: str, config_type: str) -> Response:
    _tenant(tenant_id)
    _ids(tenant_id, domain, config_type)
    return json_response(200, config_service().versions(tenant_id, domain, config_type))


@router.put("/configs/<tenant_id>/<domain>/<config_type>")
def put_document(tenant_id: str, domain: str, config_type: str) -> Response:
    who = _tenant(tenant_id)
    _ids(tenant_id, domain, config_type)
    if_match = header(router.current_event.headers, "if-match") or ""
    service = config_service()
    expected = _int(if_match, "If-Match") if if_match and if_match != "*" else None
    data = read_json(request_body(router))
    if if_match == "*" and service.configs.head_version(tenant_id, domain, config_type) is None:
        raise precondition_failed(None, "*")  # "*": only if it exists (a deleted one exists, as a tombstone)
    result = service.put(tenant_id, domain, config_type, data, expected, written_by=writer(who.describe()))
    logger.info("document stored", extra={"tenant_id": tenant_id, "domain": domain, "config_type": config_type,
                                          "version": result["version"], "written_by": result["written_by"]})
    return json_response(200, result, _etag(result["version"]))


@router.delete("/configs/<tenant_id>/<domain>/<config_type>")
def delete_document(tenant_id: str, domain: str, config_type: str) -> Response:
    """A tombstone version: GET answers 404 afterwards, the earlier versions stay (restore = PUT one back)."""
    who = _tenant(tenant_id)
    _ids(tenant_id, domain, config_type)
    if_match = header(router.current_event.headers, "if-match") or ""
    expected = _int(if_match, "If-Match") if if_match and if_match != "*" else None
    result = config_service().put(tenant_id, domain, config_type, None, expected, written_by=writer(who.describe()),
                                  delete=True)
    logger.info("document deleted", extra={"tenant_id": tenant_id, "domain": domain, "config_type": config_type,
                                           "version": result["version"], "written_by": result["written_by"]})
    return json_response(200, result, _etag(result["version"]))


# ---------------------------------------------------------------- mapping
@router.get("/mapping")
def get_mappings() -> Response:
    _admin()
    return json_response(200, config_service().list_mappings())


@router.put("/mapping")
def put_mappings() -> Response:
    _admin()
    body = parse_body(router, MappingsBody)
    return json_response(200, config_service().put_mappings(body.mappings, force=_flag("force")))


@router.delete("/mapping/<account_id>/<inbox_id>")
def delete_mapping(account_id: str, inbox_id: str) -> Response:
    _admin()
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


# ---------------------------------------------------------------- Odoo's webhook URL (POST /vectorize/odoo/{token})
def _hook_tenant(tenant_id: str) -> tuple[str, str]:
    """(tenant, domain): `?domain=` or the tenant's only domain; 404 when it has no config there."""
    named = router.current_event.get_query_string_value("domain") or None
    _ids(tenant_id, named or "default")
    domains = config_service().configs.domains(tenant_id)
    if named is None and len(domains) > 1:
        raise ApiError(400, "domain_required", f"tenant {tenant_id!r} has {len(domains)} domains "
                       f"({', '.join(domains)}): name one with ?domain=", "domain")
    domain = named or (domains[0] if domains else "default")
    if config_service().configs.head_version(tenant_id, domain, "config") is None:
        raise not_found(f"tenant {tenant_id} has no config in domain {domain}", "tenant_id")
    return tenant_id, domain


@router.post("/configs/<tenant_id>/odoo-hook-token")
def issue_hook_token(tenant_id: str) -> Response:
    """A new secret webhook URL for Odoo's automation rules (shown once); the previous one stops working."""
    require_admin_access(_headers())
    tenant, domain = _hook_tenant(tenant_id)
    with WRITE_LOCK:
        issued = hook_tokens().issue(tenant, domain, utc_now())
    logger.info("odoo hook token issued", extra={"tenant_id": tenant, "domain": domain,
                                                 "rotated": issued["rotated"]})
    return json_response(201, issued)


@router.get("/configs/<tenant_id>/odoo-hook-token")
def hook_token_status(tenant_id: str) -> Response:
    require_admin_access(_headers())
    tenant, domain = _hook_tenant(tenant_id)
    status = hook_tokens().status(tenant, domain)
    if status is None:
        raise not_found(f"tenant {tenant} has no Odoo webhook URL in domain {domain}; POST to create one")
    return json_response(200, status)


@router.delete("/configs/<tenant_id>/odoo-hook-token")
def revoke_hook_token(tenant_id: str) -> Response:
    require_admin_access(_headers())
    tenant, domain = _hook_tenant(tenant_id)
    with WRITE_LOCK:
        revoked = hook_tokens().revoke(tenant, domain)
    if not revoked:
        raise not_found(f"tenant {tenant} has no Odoo webhook URL in domain {domain}")
    return json_response(200, {"tenant_id": tenant, "domain": domain, "revoked": True})
