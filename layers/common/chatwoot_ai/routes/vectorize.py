"""The Vectorize API's routes (docs/vectorize.md): accept Odoo data (202 + job id), job status, search, collections.

Routes: POST /vectorize, POST /vectorize/sync, POST /vectorize/odoo/{token} (Odoo's own webhook),
GET /vectorize/jobs, GET /vectorize/jobs/{id}, POST /search,
GET|POST /collections, DELETE /collections/{name}, POST /collections/{name}/reindex. Who may call: the admin key
(X-Api-Key); a tenant key (X-Api-Key, chatwoot_ai.access) or the tenant's own `vectorize_token` as a bearer token,
each only ever opening that tenant's data (403 / 401 for another tenant); the collection routes are the admin's
only. The work is chatwoot_ai.vector's.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ValidationError

from chatwoot_ai import aws
from chatwoot_ai.access import require_tenant_access
from chatwoot_ai.api import header, is_admin, json_response, parse_body, read_json, request_body, require_admin
from chatwoot_ai.config import get_config_cache
from chatwoot_ai.config.api_keys import looks_like_tenant_key
from chatwoot_ai.config.hook_tokens import hook_tokens
from chatwoot_ai.config.tenants import DEFAULT_DOMAIN, resolve_domain
from chatwoot_ai.errors import ApiError, bad_request, from_validation_error, not_found, unauthorized
from chatwoot_ai.memo import per_settings
from chatwoot_ai.models import DEFAULT_COLLECTIONS, check_identifier
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import Settings, get_settings
from chatwoot_ai.vector.jobs import public_view
from chatwoot_ai.vector.models import (
    CollectionRequest,
    SearchRequest,
    SyncRequest,
    VectorizeRequest,
    check_collection,
)
from chatwoot_ai.vectorize_parts import job_store

if TYPE_CHECKING:
    from chatwoot_ai.vector.odoo_sync import SyncStateDal

router = APIGatewayHttpRouter()


# ---------------------------------------------------------------- who is calling
def bearer_token(app: BaseRouter) -> str | None:
    value = header(app.current_event.headers, "authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _tenant_tokens(tenant_id: str, domain: str | None) -> dict[str, str]:
    """domain -> vectorize_token: of the named domain, else of each of the tenant's domains."""
    cache = get_config_cache()
    tokens = {}
    for name in [domain] if domain else cache.domains(tenant_id) or [DEFAULT_DOMAIN]:
        credentials = cache.credentials(tenant_id, domain=name)
        secret = getattr(credentials, "vectorize_token", None) if credentials is not None else None
        if secret is not None and secret.get_secret_value():
            tokens[name] = secret.get_secret_value()
    return tokens


def authorize_tenant(app: BaseRouter, tenant_id: str) -> str:
    """"admin" or "tenant"; 401 when neither the admin key, a key of this tenant nor its vectorize token was sent
    (403 for another tenant's key). The token is the one of the domain named by `X-Domain`, or of the tenant's only
    domain; a tenant with several domains gets a 400 listing them, but only once the token proved to be one of them
    (a stranger learns nothing)."""
    headers = app.current_event.headers
    if is_admin(headers):
        return "admin"  # vectors belong to the tenant, whatever the domain: the admin needs none
    if looks_like_tenant_key(header(headers, "x-api-key")):
        require_tenant_access(headers, tenant_id)
        return "tenant"  # a tenant key opens the whole tenant, as the admin key does
    token = bearer_token(app)
    if not token:
        raise unauthorized("send Authorization: Bearer <the tenant's vectorize_token>")
    named = header(app.current_event.headers, "x-domain")
    if named:
        try:
            check_identifier(named, "X-Domain")
        except ValueError as exc:
            raise bad_request(str(exc), "X-Domain") from None
    tokens = _tenant_tokens(tenant_id, named)
    if not any(hmac.compare_digest(token.encode(), expected.encode()) for expected in tokens.values()):
        # One answer for "unknown tenant", "no token configured" and "wrong token": nothing to probe with.
        raise unauthorized("the bearer token is not this tenant's vectorize_token")
    if not named:
        resolve_domain(tenant_id, None, "X-Domain")  # the 400 for a tenant with several domains
    return "tenant"


def require_admin_or_tenant(app: BaseRouter, tenant_id: str | None) -> str:
    """Listing endpoints: the admin sees everything; a tenant must name itself."""
    if is_admin(app.current_event.headers):
        return "admin"
    if not tenant_id:
        if bearer_token(app) or looks_like_tenant_key(header(app.current_event.headers, "x-api-key")):
            raise ApiError(422, "validation_error", "tenant_id is required with a tenant token", "tenant_id")
        raise unauthorized("X-Api-Key is missing or wrong")
    return authorize_tenant(app, tenant_id)


# ---------------------------------------------------------------- routes
def _tenant_of(data: dict[str, Any]) -> str:
    tenant_id = data.get("tenant_id")
    if not isinstance(tenant_id, str):
        raise ApiError(422, "validation_error", "tenant_id is required", "tenant_id")
    try:
        return check_identifier(tenant_id, "tenant_id")
    except ValueError as exc:
        raise ApiError(422, "validation_error", str(exc), "tenant_id") from exc


def _authorized_body(model: type[Any]) -> Any:
    """Authenticate against the body's tenant first (401 before any detail about the payload), then validate."""
    data = read_json(request_body(router), object_only=True)
    authorize_tenant(router, _tenant_of(data))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc


@router.post("/vectorize")
def vectorize() -> Response:
    from chatwoot_ai.vector.submit import submit

    request: VectorizeRequest = _authorized_body(VectorizeRequest)
    body = submit(request, job_store(), aws.client("sqs"), get_settings().resources.vectorize_queue_url)
    return json_response(202, body)


@router.post("/vectorize/sync")
def vectorize_sync() -> Response:
    from chatwoot_ai.vector.sync import start_sync

    request: SyncRequest = _authorized_body(SyncRequest)
    if request.incremental:
        from chatwoot_ai.vector.odoo_sync import start_now

        body = start_now(request.tenant_id, request.domain, job_store(), sync_states(), aws.client("sqs"),
                         get_settings().resources.vectorize_queue_url)
        return json_response(202, body)
    body = start_sync(request, job_store(), aws.client("sqs"), get_settings().resources.vectorize_queue_url)
    return json_response(202, body)


@router.post("/vectorize/odoo/<token>")
def odoo_hook(token: str) -> Response:
    """Odoo's "Send Webhook Notification" (an automation rule): the secret URL names the tenant (401 otherwise), the
    body is mapped by the tenant's `odoo.sources` (chatwoot_ai.vector.odoo_hook) and queued like POST /vectorize."""
    from chatwoot_ai.odoo.sources import odoo_feeds
    from chatwoot_ai.vector.odoo_hook import hook_request
    from chatwoot_ai.vector.submit import submit

    found = hook_tokens().find(token) if 0 < len(token) <= 200 else None
    if found is None:
        raise unauthorized("this webhook URL is not (or no longer) valid; the Config API issues a new one")
    tenant_id, domain = found
    payload = read_json(request_body(router), object_only=True)
    request = hook_request(tenant_id, payload, odoo_feeds(get_config_cache().config(tenant_id, domain=domain)))
    body = submit(request, job_store(), aws.client("sqs"), get_settings().resources.vectorize_queue_url,
                  kind="odoo_webhook")
    logger.info("odoo webhook queued", extra={"tenant_id": tenant_id, "odoo_model": payload.get("_model"),
                                              "odoo_id": payload.get("_id"), "job_id": body["job_id"]})
    return json_response(202, {**body, "tenant_id": tenant_id, "collection": request.collection})


@per_settings
def sync_states(settings: Settings) -> SyncStateDal:
    from chatwoot_ai.vector.odoo_sync import SyncStateDal

    return SyncStateDal(aws.table(settings.resources.jobs_table))


def _odoo_sync_state(tenant_id: str) -> dict[str, Any] | None:
    """The scheduled Odoo sync of the tenant (its only or `X-Domain` domain): marks, last runs, interval."""
    from chatwoot_ai.odoo.sources import odoo_feeds
    from chatwoot_ai.vector.odoo_sync import public_state

    try:
        domain = resolve_domain(tenant_id, header(router.current_event.headers, "x-domain"), "X-Domain")
    except ApiError:
        return None  # several domains and none named: the jobs still list, the sync state needs X-Domain
    config = get_config_cache().config(tenant_id, domain=domain)
    state = sync_states().get(tenant_id, domain)
    if not state and (config is None or config.odoo is None):
        return None
    try:
        feeds = odoo_feeds(config)
    except ApiError:
        feeds = None
    return {"domain": domain, **public_state(state, feeds)}


@router.get("/vectorize/jobs")
def list_jobs() -> Response:
    params = router.current_event.query_string_parameters or {}
    tenant_id = params.get("tenant_id") or None
    if tenant_id:
        try:
            check_identifier(tenant_id, "tenant_id")
        except ValueError as exc:
            raise ApiError(422, "validation_error", str(exc), "tenant_id") from exc
    require_admin_or_tenant(router, tenant_id)
    try:
        limit = max(1, min(int(params.get("limit", "20")), 100))
    except ValueError as exc:
        raise ApiError(422, "validation_error", "limit must be an integer", "limit") from exc
    body: dict[str, Any] = {"jobs": [public_view(j) for j in job_store().list(tenant_id, limit)]}
    if tenant_id:
        body["odoo_sync"] = _odoo_sync_state(tenant_id)
    return json_response(200, body)


@router.get("/vectorize/jobs/<job_id>")
def get_job(job_id: str) -> Response:
    job = job_store().get(job_id) if len(job_id) <= 64 else None
    if job is None:
        require_admin(router)  # an unknown id answers 404 only to the admin; tenants cannot probe ids
        raise not_found(f"no job {job_id}", "job_id")
    require_admin_or_tenant(router, str(job["tenant_id"]))
    return json_response(200, public_view(job))


@router.post("/search")
def search_route() -> Response:
    from chatwoot_ai.vector.followup import contextual_query
    from chatwoot_ai.vector.search import retrieve
    from chatwoot_ai.vector.submit import require_collection

    request: SearchRequest = _authorized_body(SearchRequest)
    require_collection(request.collection)
    found = retrieve(request.tenant_id, request.collection, contextual_query(request.query, request.previous),
                     request.limit, mode=request.mode, metadata_filter=request.filter,
                     gate=not request.include_below_threshold)
    body: dict[str, Any] = {"results": [h.model_dump() for h in found.hits], "answerable": found.answerable,
                            "threshold": found.threshold}
    if found.reason:
        body["reason"] = found.reason
    return json_response(200, body)


@router.get("/collections")
def list_collections() -> Response:
    from chatwoot_ai.vector.embeddings import get_embedder
    from chatwoot_ai.vector.store import get_store, same_models
    from chatwoot_ai.vector.submit import known_collections

    require_admin(router)
    params = router.current_event.query_string_parameters or {}
    tenant_id = params.get("tenant_id") or None
    store = get_store()
    wanted = get_embedder().models
    out = []
    for name in known_collections():
        models = store.models_of(name)
        out.append({"name": name, "default": name in DEFAULT_COLLECTIONS, "exists": models is not None,
                    "points": store.count(name, tenant_id), "models": models,
                    "reindex_needed": models is not None and not same_models(models, wanted)})
    return json_response(200, {"collections": out})


@router.post("/collections")
def create_collection() -> Response:
    from chatwoot_ai.vector.embeddings import get_embedder
    from chatwoot_ai.vector.store import get_store

    require_admin(router)
    request = parse_body(router, CollectionRequest)
    store = get_store()
    existed = store.exists(request.name)
    store.ensure_collection(request.name, get_embedder().models)
    return json_response(200 if existed else 201, {"name": request.name, "created": not existed})


@router.delete("/collections/<name>")
def delete_collection(name: str) -> Response:
    """The whole collection, or with `?tenant_id=` only that tenant's points in it."""
    from chatwoot_ai.vector.store import get_store

    require_admin(router)
    params = router.current_event.query_string_parameters or {}
    tenant_id = params.get("tenant_id")
    store = get_store()
    if not store.exists(name):
        raise ApiError(404, "unknown_collection", f"collection {name!r} does not exist", "name")
    if tenant_id:
        check_identifier(tenant_id, "tenant_id")
        store.delete_tenant(name, tenant_id)
        logger.info("tenant points deleted", extra={"collection": name, "tenant_id": tenant_id})
        return json_response(200, {"name": name, "tenant_id": tenant_id, "deleted": True})
    store.delete_collection(name)
    logger.info("collection deleted", extra={"collection": name})
    return json_response(200, {"name": name, "deleted": True})


def _is_collection_name(name: str) -> bool:
    try:
        check_collection(name)
    except ValueError:
        return False
    return True


@router.post("/collections/<name>/reindex")
def reindex_collection(name: str) -> Response:
    """Re-embeds every point of the collection with this deployment's model set (a job with progress). A collection
    already written by this model set answers 409 unless `?force=true`."""
    from chatwoot_ai.vector.embeddings import get_embedder
    from chatwoot_ai.vector.reindex import start_reindex
    from chatwoot_ai.vector.store import get_store, same_models

    require_admin(router)
    store = get_store()
    models = store.models_of(name) if _is_collection_name(name) else None
    if models is None:
        raise ApiError(404, "unknown_collection", f"collection {name!r} does not exist", "name")
    force = (router.current_event.query_string_parameters or {}).get("force") == "true"
    if same_models(models, get_embedder().models) and not force:
        raise ApiError(409, "up_to_date", f"collection {name!r} already holds this model set's vectors "
                       "(?force=true re-embeds it anyway)", "name")
    body = start_reindex(name, store, job_store(), aws.client("sqs"), get_settings().resources.vectorize_queue_url)
    return json_response(202, body)
