"""VectorizeApiFunction: accept Odoo data (202 + job id), job status, search, collections.

Routes (infra/template.yaml): POST /vectorize, POST /vectorize/sync, GET /vectorize/jobs, GET /vectorize/jobs/{id},
POST /search, GET|POST /collections, DELETE /collections/{name}, POST /collections/{name}/reindex.
See docs/vectorize.md.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError
from vectorize_auth import authorize_tenant, require_admin_or_tenant

from chatwoot_ai import aws
from chatwoot_ai.api import install_error_handlers, json_response, parse_body, read_json, require_admin
from chatwoot_ai.config import get_config_cache, is_config_changed_event
from chatwoot_ai.errors import ApiError, bad_request, from_validation_error, not_found
from chatwoot_ai.models import DEFAULT_COLLECTIONS, check_identifier
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import get_settings
from chatwoot_ai.vector.jobs import JobsDal, public_view
from chatwoot_ai.vector.models import (
    CollectionRequest,
    SearchRequest,
    SyncRequest,
    VectorizeRequest,
    check_collection,
)

app = APIGatewayHttpResolver()
install_error_handlers(app)


def _jobs() -> JobsDal:
    settings = get_settings()
    return JobsDal(aws.table(settings.jobs_table), settings.vectorize_jobs_ttl_days)


def _raw_json() -> dict[str, Any]:
    data = read_json(app)
    if not isinstance(data, dict):
        raise bad_request("body must be a JSON object", code="invalid_json")
    return data


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
    data = _raw_json()
    authorize_tenant(app, _tenant_of(data))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc


@app.post("/vectorize")
def vectorize() -> Response:
    from chatwoot_ai.vector.submit import submit

    request: VectorizeRequest = _authorized_body(VectorizeRequest)
    body = submit(request, _jobs(), aws.client("sqs"), get_settings().vectorize_queue_url)
    return json_response(202, body)


@app.post("/vectorize/sync")
def vectorize_sync() -> Response:
    from chatwoot_ai.vector.sync import start_sync

    request: SyncRequest = _authorized_body(SyncRequest)
    body = start_sync(request, _jobs(), aws.client("sqs"), get_settings().vectorize_queue_url)
    return json_response(202, body)


@app.get("/vectorize/jobs")
def list_jobs() -> Response:
    params = app.current_event.query_string_parameters or {}
    tenant_id = params.get("tenant_id") or None
    if tenant_id:
        try:
            check_identifier(tenant_id, "tenant_id")
        except ValueError as exc:
            raise ApiError(422, "validation_error", str(exc), "tenant_id") from exc
    require_admin_or_tenant(app, tenant_id)
    try:
        limit = max(1, min(int(params.get("limit", "20")), 100))
    except ValueError as exc:
        raise ApiError(422, "validation_error", "limit must be an integer", "limit") from exc
    return json_response(200, {"jobs": [public_view(j) for j in _jobs().list(tenant_id, limit)]})


@app.get("/vectorize/jobs/<job_id>")
def get_job(job_id: str) -> Response:
    job = _jobs().get(job_id) if len(job_id) <= 64 else None
    if job is None:
        require_admin(app)  # an unknown id answers 404 only to the admin; tenants cannot probe ids
        raise not_found(f"no job {job_id}", "job_id")
    require_admin_or_tenant(app, str(job["tenant_id"]))
    return json_response(200, public_view(job))


@app.post("/search")
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


@app.get("/collections")
def list_collections() -> Response:
    from chatwoot_ai.vector.embeddings import get_embedder
    from chatwoot_ai.vector.store import get_store, same_models
    from chatwoot_ai.vector.submit import known_collections

    require_admin(app)
    params = app.current_event.query_string_parameters or {}
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


@app.post("/collections")
def create_collection() -> Response:
    from chatwoot_ai.vector.embeddings import get_embedder
    from chatwoot_ai.vector.store import get_store

    require_admin(app)
    request = parse_body(app, CollectionRequest)
    store = get_store()
    existed = store.exists(request.name)
    store.ensure_collection(request.name, get_embedder().models)
    return json_response(200 if existed else 201, {"name": request.name, "created": not existed})


@app.delete("/collections/<name>")
def delete_collection(name: str) -> Response:
    """The whole collection, or with `?tenant_id=` only that tenant's points in it."""
    from chatwoot_ai.vector.store import get_store

    require_admin(app)
    params = app.current_event.query_string_parameters or {}
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


def check_collection_name(name: str) -> bool:
    try:
        check_collection(name)
    except ValueError:
        return False
    return True


@app.post("/collections/<name>/reindex")
def reindex_collection(name: str) -> Response:
    """Re-embeds every point of the collection with this deployment's model set (a job with progress). A collection
    already written by this model set answers 409 unless `?force=true`."""
    from chatwoot_ai.vector.embeddings import get_embedder
    from chatwoot_ai.vector.reindex import start_reindex
    from chatwoot_ai.vector.store import get_store, same_models

    require_admin(app)
    store = get_store()
    models = store.models_of(name) if check_collection_name(name) else None
    if models is None:
        raise ApiError(404, "unknown_collection", f"collection {name!r} does not exist", "name")
    force = (app.current_event.query_string_parameters or {}).get("force") == "true"
    if same_models(models, get_embedder().models) and not force:
        raise ApiError(409, "up_to_date", f"collection {name!r} already holds this model set's vectors "
                       "(?force=true re-embeds it anyway)", "name")
    body = start_reindex(name, store, _jobs(), aws.client("sqs"), get_settings().vectorize_queue_url)
    return json_response(202, body)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if is_config_changed_event(event):
        get_config_cache().handle_event(event)
        return {}
    return app.resolve(event, context)
