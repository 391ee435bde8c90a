"""Scheduled incremental sync of a tenant's Odoo (tenants that set `odoo.sync_interval_min`).

A schedule (EventBridge, every 5 minutes: OdooSyncScheduleFunction) calls `start_due_syncs`: each tenant whose
interval has passed gets an `odoo_sync` job on the vectorize queue. The worker (`run_odoo_sync`) reads only what
changed since the last run's high-water mark, kept per tenant and model in the jobs table:

    pk=ODOOSYNC#<tenant_id>#<domain>  sk=STATE   marks {model: write_date}, runs, last_*; the jobs API shows it

- products: Odoo keeps name, price and descriptions on `product.template` (a variant reads them through
  `_inherits`, and its own write_date does not move when they change), so the worker asks for the templates
  written since the mark, then for the variants written since theirs or belonging to those templates;
- document sources: the model's rows written since its mark;
- archived rows, rows no longer sold and rows leaving the tenant's domain filter come back too (`active in
  (True, False)`) and are removed; deletions leave no trace in Odoo, so every `full_sync_every`-th run (and the
  first) reads everything and removes the ids Odoo no longer has.

Marks are Odoo's own write_date values (never our clock). write_date has one-second resolution, so the next read
takes rows written after the mark, and rows written in the mark's own second that were not read yet (their ids are
kept with the mark). Odoo stamps write_date at its transaction's start: a row committed after a read but stamped
before the mark is missed by the incremental reads, and found by the next full pass.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from chatwoot_ai.errors import ApiError
from chatwoot_ai.observability import logger
from chatwoot_ai.odoo.sources import PRODUCT, TEMPLATE, DocumentSource, OdooFeeds, matches, odoo_feeds
from chatwoot_ai.settings import get_settings
from chatwoot_ai.vector.jobs import JobsDal, new_job_id, now_iso
from chatwoot_ai.vector.jobs import _plain as plain_values
from chatwoot_ai.vector.models import VectorizeMessage, VectorRecord
from chatwoot_ai.vector.odoo_records import (
    PRODUCT_FIELDS,
    document_id,
    document_record,
    product_record,
    product_removed,
    text_of,
)
from chatwoot_ai.vector.submit import enqueue
from chatwoot_ai.vector.sync import RETRYABLE, tenant_client

# The schedule fires every 5 minutes; a tenant whose interval is 5 minutes must not slip to 10 by a few seconds.
SLACK_S = 30.0
_BOTH = ("active", "in", [True, False])


MAX_MARK_IDS = 2000


class Marks:
    """Per model: the newest write_date read (`at`) and the ids read with exactly that write_date (`ids`)."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.at = {str(k): str(v) for k, v in (state.get("marks") or {}).items() if v}
        self.ids = {str(k): [int(i) for i in v] for k, v in (state.get("mark_ids") or {}).items()}

    def since(self, model: str) -> list[Any]:
        """The domain "written since the mark, and not already read": one expression in Odoo's prefix notation;
        none without a mark (a source added since the last run: read it all)."""
        mark = self.at.get(model)
        if not mark:
            return []
        ids = self.ids.get(model)
        if not ids:
            return [("write_date", ">=", mark)]
        return ["|", ("write_date", ">", mark), "&", ("write_date", "=", mark), ("id", "not in", ids)]

    def advance(self, model: str, rows: list[dict[str, Any]]) -> None:
        stamps = [str(r["write_date"]) for r in rows if isinstance(r.get("write_date"), str)]
        if not stamps:
            return
        newest = max(stamps)
        previous = self.at.get(model)
        if previous and previous > newest:
            return
        at_newest = [int(r["id"]) for r in rows if r.get("write_date") == newest]
        if previous == newest:
            at_newest = sorted(set(at_newest) | set(self.ids.get(model, [])))
        self.at[model] = newest
        # Past the cap the boundary second is read again next time (>=): slower, never wrong.
        self.ids[model] = at_newest if len(at_newest) <= MAX_MARK_IDS else []


class SyncStateDal:
    """Per tenant and domain: the high-water marks and the last runs (jobs table)."""

    def __init__(self, table: Any) -> None:
        self.table = table

    @staticmethod
    def key(tenant_id: str, domain: str) -> dict[str, str]:
        return {"pk": f"ODOOSYNC#{tenant_id}#{domain}", "sk": "STATE"}

    def get(self, tenant_id: str, domain: str) -> dict[str, Any]:
        item = self.table.get_item(Key=self.key(tenant_id, domain), ConsistentRead=True).get("Item")
        return plain_values(dict(item)) if item else {}

    def claim(self, tenant_id: str, domain: str, previous: str | None, job_id: str) -> bool:
        """Marks a run as started unless another scheduler invocation did it first."""
        condition = "attribute_not_exists(last_started_at)" if previous is None else "last_started_at = :prev"
        values: dict[str, Any] = {":now": now_iso(), ":job": job_id, ":t": tenant_id, ":d": domain}
        if previous is not None:
            values[":prev"] = previous
        try:
            self.table.update_item(Key=self.key(tenant_id, domain), ConditionExpression=condition,
                                   UpdateExpression="SET last_started_at = :now, last_job_id = :job, "
                                                    "tenant_id = :t, #d = :d",
                                   ExpressionAttributeNames={"#d": "domain"}, ExpressionAttributeValues=values)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def finish(self, tenant_id: str, domain: str, *, marks: Marks, full: bool, read: dict[str, int],
               changed: int, removed: int, job_id: str) -> None:
        now = now_iso()
        names = {"#m": "marks", "#r": "last_read", "#d": "domain"}
        values: dict[str, Any] = {":m": marks.at, ":ids": marks.ids, ":r": read, ":now": now, ":c": changed,
                                  ":x": removed, ":one": 1, ":zero": 0, ":full": full, ":job": job_id,
                                  ":t": tenant_id, ":dom": domain}
        update = ("SET #m = :m, mark_ids = :ids, #r = :r, last_sync_at = :now, last_changed = :c, last_removed = :x, "
                  "last_full = :full, last_job_id = :job, tenant_id = :t, #d = :dom, "
                  "runs = if_not_exists(runs, :zero) + :one")
        if full:
            update += ", last_full_at = :now"
        self.table.update_item(Key=self.key(tenant_id, domain), UpdateExpression=update,
                               ExpressionAttributeNames=names, ExpressionAttributeValues=values)


def public_state(state: dict[str, Any], feeds: OdooFeeds | None = None) -> dict[str, Any]:
    """The sync state as the jobs API shows it."""
    keys = ("last_started_at", "last_sync_at", "last_full_at", "last_job_id", "runs", "marks", "last_read",
            "last_changed", "last_removed", "last_full")
    out = {key: state.get(key) for key in keys}
    if feeds is not None:
        out["sync_interval_min"] = feeds.sync_interval_min
        out["full_sync_every"] = feeds.full_sync_every
    return out


def _seconds_since(stamp: str | None, now: datetime) -> float | None:
    if not stamp:
        return None
    return (now - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds()


# ---------------------------------------------------------------- the scheduler's half
def start_due_syncs(tenants: list[tuple[str, str]], jobs: JobsDal, states: SyncStateDal, sqs: Any, queue_url: str,
                    now: datetime | None = None) -> list[dict[str, Any]]:
    """Starts a sync job for each (tenant, domain) whose `odoo.sync_interval_min` has passed. Returns what started."""
    from chatwoot_ai.config import get_config_cache

    now = now or datetime.now(UTC)
    cache = get_config_cache()
    started = []
    for tenant_id, domain in tenants:
        config = cache.config(tenant_id, domain=domain)
        if config is None or config.odoo is None:
            continue
        try:
            feeds = odoo_feeds(config)
        except ApiError as exc:
            logger.warning("odoo sources invalid; no scheduled sync", extra={"tenant_id": tenant_id,
                                                                             "error": exc.message})
            continue
        if not feeds.sync_interval_min:
            continue
        state = states.get(tenant_id, domain)
        since = _seconds_since(state.get("last_started_at"), now)
        if since is not None and since < feeds.sync_interval_min * 60 - SLACK_S:
            continue
        run = _start(tenant_id, domain, feeds, state, jobs, states, sqs, queue_url)
        if run is not None:
            started.append(run)
    return started


def _start(tenant_id: str, domain: str, feeds: OdooFeeds, state: dict[str, Any], jobs: JobsDal,
           states: SyncStateDal, sqs: Any, queue_url: str) -> dict[str, Any] | None:
    """Claims the run (None when another invocation started it meanwhile), records the job, queues its message."""
    job_id = new_job_id()
    if not states.claim(tenant_id, domain, state.get("last_started_at"), job_id):
        return None
    full = not state.get("marks") or int(state.get("runs") or 0) % feeds.full_sync_every == 0
    jobs.create(job_id, tenant_id, ",".join(feeds.collections()) or "products", total=0, parts=1, kind="odoo_sync")
    enqueue(sqs, queue_url, [json.dumps({"job_id": job_id, "odoo_sync": {"tenant_id": tenant_id, "domain": domain,
                                                                           "full": full}})])
    logger.info("odoo sync started", extra={"tenant_id": tenant_id, "domain": domain, "job_id": job_id,
                                            "full": full})
    return {"tenant_id": tenant_id, "domain": domain, "job_id": job_id, "full": full}


def start_now(tenant_id: str, domain: str | None, jobs: JobsDal, states: SyncStateDal, sqs: Any,
              queue_url: str) -> dict[str, Any]:
    """`POST /vectorize/sync {"incremental": true}`: the scheduled sync's next run, now (the marks move as if the
    schedule had fired; every `full_sync_every`-th run is the full one)."""
    from chatwoot_ai.config import get_config_cache
    from chatwoot_ai.config.tenants import resolve_domain
    from chatwoot_ai.odoo.tenant import tenant_odoo

    domain = resolve_domain(tenant_id, domain, "domain")
    tenant_odoo(tenant_id, domain, "tenant_id")  # 404 / 409 now beats a failed job later
    feeds = odoo_feeds(get_config_cache().config(tenant_id, domain=domain))
    run = _start(tenant_id, domain, feeds, states.get(tenant_id, domain), jobs, states, sqs, queue_url)
    if run is None:
        raise ApiError(409, "sync_starting", "another sync of this tenant is starting; try again", "tenant_id")
    return {"job_id": run["job_id"], "status": "queued", "kind": "odoo_sync", "full": run["full"]}


# ---------------------------------------------------------------- the worker's half
class _Plan:
    def __init__(self) -> None:
        self.records: dict[str, list[VectorRecord]] = {}
        self.deletes: dict[str, list[str]] = {}
        self.read: dict[str, int] = {}

    def keep(self, collection: str, record: VectorRecord) -> None:
        self.records.setdefault(collection, []).append(record)

    def drop(self, collection: str, record_id: str) -> None:
        self.deletes.setdefault(collection, []).append(record_id)

    def count(self, model: str, rows: int) -> None:
        self.read[model] = self.read.get(model, 0) + rows


def _read_all(client: Any, model: str, domain: list[Any], fields: list[str], page: int) -> list[dict[str, Any]]:
    """Keyset paging by id: stable while Odoo changes."""
    rows: list[dict[str, Any]] = []
    last_id = 0
    while True:
        batch = client.search_read(model, [*domain, ("id", ">", last_id)], fields, limit=page, order="id asc")
        rows += batch
        if len(batch) < page:
            return rows
        last_id = max(int(r["id"]) for r in batch)


def _sync_products(client: Any, feeds: OdooFeeds, marks: Marks, full: bool, plan: _Plan, page: int,
                   stored: Any) -> None:
    source = feeds.sources.products
    fields = client.existing(PRODUCT, [*PRODUCT_FIELDS, *(leaf[0] for leaf in source.domain)])
    if full:
        rows = _read_all(client, PRODUCT, [("sale_ok", "=", True), *[tuple(x) for x in source.domain]], fields, page)
        newest = client.search_read(TEMPLATE, [_BOTH], ["write_date"], limit=1, order="write_date desc")
        if newest:
            marks.advance(TEMPLATE, client.search_read(TEMPLATE, [_BOTH, ("write_date", "=", newest[0]["write_date"])],
                                                       ["write_date"]))
        seen = set()
        for row in rows:
            if text_of(row.get("name")):
                plan.keep(source.collection, product_record(row, source.currency))
                seen.add(str(row["id"]))
        for stale in sorted(set(stored(source.collection)) - seen):
            plan.drop(source.collection, stale)
    else:
        templates = client.search_read(TEMPLATE, [_BOTH, *marks.since(TEMPLATE)], ["write_date"], order="id asc")
        plan.count(TEMPLATE, len(templates))
        domain: list[Any] = [_BOTH, *marks.since(PRODUCT)]
        if templates and marks.since(PRODUCT):
            domain = [_BOTH, "|", *marks.since(PRODUCT), ("product_tmpl_id", "in", [int(t["id"]) for t in templates])]
        rows = _read_all(client, PRODUCT, domain, fields, page)
        marks.advance(TEMPLATE, templates)
        for row in rows:
            if product_removed(row) or matches(row, source.domain) is False or not text_of(row.get("name")):
                plan.drop(source.collection, str(row["id"]))
            else:
                plan.keep(source.collection, product_record(row, source.currency))
    plan.count(PRODUCT, len(rows))
    marks.advance(PRODUCT, rows)


def _sync_documents(client: Any, source: DocumentSource, marks: Marks, full: bool, plan: _Plan, page: int,
                    stored: Any) -> None:
    have = client.fields(source.model)
    fields = [f for f in dict.fromkeys([source.name_field, source.text_field, "write_date", "active",
                                        *(leaf[0] for leaf in source.domain)]) if f in have]
    if full:
        rows = _read_all(client, source.model, [tuple(x) for x in source.domain], fields, page)
        seen = {document_id(source.model, r["id"]) for r in rows}
        prefix = document_id(source.model, "")
        for stale in sorted(i for i in set(stored(source.collection)) - seen if i.startswith(prefix)):
            plan.drop(source.collection, stale)
    else:
        domain = marks.since(source.model)
        rows = _read_all(client, source.model, [_BOTH, *domain] if "active" in have else domain, fields, page)
    plan.count(source.model, len(rows))
    for row in rows:
        record = document_record(row, source)
        if row.get("active") is False or matches(row, source.domain) is False or not record.text.strip():
            plan.drop(source.collection, record.id)
        else:
            plan.keep(source.collection, record)
    marks.advance(source.model, rows)


def _messages(plan: _Plan, job_id: str, tenant_id: str, page: int) -> list[VectorizeMessage]:
    messages: list[VectorizeMessage] = []
    for collection in sorted(set(plan.records) | set(plan.deletes)):
        records = plan.records.get(collection, [])
        for start in range(0, len(records), page):
            messages.append(VectorizeMessage(job_id=job_id, tenant_id=tenant_id, collection=collection,
                                             part=len(messages), records=records[start:start + page]))
        deletes = plan.deletes.get(collection, [])
        if deletes:
            messages.append(VectorizeMessage(job_id=job_id, tenant_id=tenant_id, collection=collection,
                                             part=len(messages), delete_ids=deletes))
    if not messages:  # nothing changed: one empty part, so the job still finishes as done
        messages.append(VectorizeMessage(job_id=job_id, tenant_id=tenant_id, collection="products", part=0))
    return messages


def run_odoo_sync(body: dict[str, Any], jobs: JobsDal, states: SyncStateDal, sqs: Any, queue_url: str) -> None:
    """Reads what changed in the tenant's Odoo since the marks, queues it as the job's parts, moves the marks."""
    from chatwoot_ai.config import get_config_cache
    from chatwoot_ai.vector.store import get_store

    job_id = str(body["job_id"])
    request = body["odoo_sync"]
    tenant_id, domain, full = str(request["tenant_id"]), str(request["domain"]), bool(request.get("full"))
    job = jobs.get(job_id)
    if job is not None and job.get("status") in ("done", "failed"):
        return
    jobs.set_status(job_id, "running", only_from=("queued",))
    page = max(1, get_settings().vectorize_records_per_message)
    state = states.get(tenant_id, domain)
    marks = Marks(state)
    store = get_store()

    def stored(collection: str) -> list[str]:
        return store.record_ids(collection, tenant_id)

    plan = _Plan()
    try:
        feeds = odoo_feeds(get_config_cache().config(tenant_id, domain=domain))
        client = tenant_client(tenant_id, domain, frozenset(s.model for s in feeds.sources.documents))
        if feeds.sources.products.enabled:
            _sync_products(client, feeds, marks, full, plan, page, stored)
        for source in feeds.sources.documents:
            _sync_documents(client, source, marks, full, plan, page, stored)
    except ApiError as exc:
        if exc.code in RETRYABLE:
            raise  # Odoo down or slow: SQS delivers the message again
        jobs.finish_part(job_id, 0, ok=False, error=f"{exc.code}: {exc.message}")
        return
    messages = _messages(plan, job_id, tenant_id, page)
    changed = sum(len(r) for r in plan.records.values())
    removed = sum(len(d) for d in plan.deletes.values())
    jobs.set_plan(job_id, total=changed + removed, parts=len(messages))
    enqueue(sqs, queue_url, [m.model_dump_json() for m in messages])
    states.finish(tenant_id, domain, marks=marks, full=full, read=plan.read,
                  changed=changed, removed=removed, job_id=job_id)
    logger.info("odoo sync planned", extra={"job_id": job_id, "tenant_id": tenant_id, "full": full,
                                            "read": plan.read, "changed": changed, "removed": removed})
