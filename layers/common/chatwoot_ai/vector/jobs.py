"""Vectorize jobs in DynamoDB (JobsTable, keys pk/sk).

    pk=JOB#<job_id>      sk=STATUS                 the job: status, counters, finished parts, errors
    pk=JOBS#<tenant_id>  sk=<created_at>#<job_id>  the tenant's jobs, newest last
    pk=JOBS              sk=<created_at>#<job_id>  every tenant's jobs (the Config Viewer's list)

A job is split into parts (one SQS message each). Finishing a part adds its counters once, whatever SQS redelivers:
the update is conditional on the part not being in `done_parts`/`failed_parts` yet.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

MAX_ERRORS = 20
_COUNTERS = ("processed", "failed", "skipped", "deleted")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_job_id() -> str:
    """Sortable by creation time (ms prefix), unique by the random tail."""
    return f"{int(time.time() * 1000):012x}-{uuid.uuid4().hex[:20]}"


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals and sets as JSON-friendly values."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def public_view(item: dict[str, Any]) -> dict[str, Any]:
    """A job as the API shows it."""
    item = _plain(item)
    return {
        "job_id": item["job_id"],
        "tenant_id": item.get("tenant_id"),
        "collection": item.get("collection"),
        "kind": item.get("kind", "push"),
        "status": item.get("status", "queued"),
        "total": item.get("total", 0),
        "processed": item.get("processed", 0),
        "failed": item.get("failed", 0),
        "skipped": item.get("skipped", 0),
        "deleted": item.get("deleted", 0),
        "parts": item.get("parts", 0),
        "parts_done": len(item.get("done_parts", [])) + len(item.get("failed_parts", [])),
        "errors": item.get("errors", []),
        "created_at": item.get("created_at"),
        "updated_at": item.get("updated_at"),
    }


class JobsDal:
    def __init__(self, table: Any, ttl_days: int = 30) -> None:
        self.table = table
        self.ttl_s = ttl_days * 86400

    def create(self, job_id: str, tenant_id: str, collection: str, total: int, parts: int,
               kind: str = "push", status: str = "queued") -> dict[str, Any]:
        created = now_iso()
        expires = int(time.time()) + self.ttl_s
        item = {
            "pk": f"JOB#{job_id}", "sk": "STATUS", "job_id": job_id, "tenant_id": tenant_id,
            "collection": collection, "kind": kind, "status": status, "total": total, "parts": parts,
            "processed": 0, "failed": 0, "skipped": 0, "deleted": 0, "errors": [],
            "created_at": created, "updated_at": created, "expires_at": expires,
        }
        index = {"job_id": job_id, "tenant_id": tenant_id, "expires_at": expires}
        with self.table.batch_writer() as batch:
            batch.put_item(Item=item)
            batch.put_item(Item={"pk": f"JOBS#{tenant_id}", "sk": f"{created}#{job_id}", **index})
            batch.put_item(Item={"pk": "JOBS", "sk": f"{created}#{job_id}", **index})
        return item

    def get(self, job_id: str) -> dict[str, Any] | None:
        found = self.table.get_item(Key={"pk": f"JOB#{job_id}", "sk": "STATUS"}, ConsistentRead=True).get("Item")
        return dict(found) if found else None

    def list(self, tenant_id: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        pk = f"JOBS#{tenant_id}" if tenant_id else "JOBS"
        index = self.table.query(KeyConditionExpression=Key("pk").eq(pk), ScanIndexForward=False,
                                 Limit=limit).get("Items", [])
        if not index:
            return []
        resource = self.table.meta.client
        keys = [{"pk": f"JOB#{i['job_id']}", "sk": "STATUS"} for i in index]
        response = resource.batch_get_item(RequestItems={self.table.name: {"Keys": keys}})
        found = {i["job_id"]: i for i in response.get("Responses", {}).get(self.table.name, [])}
        return [found[i["job_id"]] for i in index if i["job_id"] in found]

    def set_status(self, job_id: str, status: str, only_from: tuple[str, ...] = ()) -> None:
        kwargs: dict[str, Any] = {}
        names = {"#s": "status", "#upd": "updated_at"}
        values: dict[str, Any] = {":s": status, ":u": now_iso()}
        if only_from:
            kwargs["ConditionExpression"] = "#s IN (" + ", ".join(f":f{i}" for i in range(len(only_from))) + ")"
            values.update({f":f{i}": s for i, s in enumerate(only_from)})
        try:
            self.table.update_item(Key={"pk": f"JOB#{job_id}", "sk": "STATUS"},
                                   UpdateExpression="SET #s = :s, #upd = :u",
                                   ExpressionAttributeNames=names, ExpressionAttributeValues=values, **kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def set_plan(self, job_id: str, total: int, parts: int) -> None:
        """Pull mode learns the size of the job after it started."""
        self.table.update_item(Key={"pk": f"JOB#{job_id}", "sk": "STATUS"},
                               UpdateExpression="SET #t = :t, #p = :p, #upd = :u",
                               ExpressionAttributeNames={"#t": "total", "#p": "parts", "#upd": "updated_at"},
                               ExpressionAttributeValues={":t": total, ":p": parts, ":u": now_iso()})

    def finish_part(self, job_id: str, part: int, *, ok: bool, error: str | None = None,
                    **counters: int) -> dict[str, Any] | None:
        """Adds a part's counters once; sets the final status when it was the last part. None if already counted."""
        # Counter names are DynamoDB reserved words: every attribute goes through a placeholder.
        names = {f"#{name}": name for name in _COUNTERS if counters.get(name)}
        names.update({"#done": "done_parts", "#bad": "failed_parts", "#upd": "updated_at"})
        values: dict[str, Any] = {":part": str(part), ":partset": {str(part)}, ":u": now_iso()}
        values.update({f":{name}": counters[name] for name in _COUNTERS if counters.get(name)})
        adds = [f"#{name} :{name}" for name in _COUNTERS if counters.get(name)]
        adds.append(("#done" if ok else "#bad") + " :partset")
        update = "SET #upd = :u"
        if error:
            names["#err"] = "errors"
            update += ", #err = list_append(if_not_exists(#err, :empty), :err)"
            values[":empty"] = []
            values[":err"] = [{"part": part, "message": error[:500]}]
        update += " ADD " + ", ".join(adds)
        try:
            new = self.table.update_item(
                Key={"pk": f"JOB#{job_id}", "sk": "STATUS"},
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk) AND NOT contains(#done, :part) AND NOT contains(#bad, :part)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        finished = len(new.get("done_parts", ())) + len(new.get("failed_parts", ()))
        last = new.get("parts") is not None and finished >= int(new["parts"])
        if last and new.get("status") in ("queued", "running"):
            # "failed" only when no part succeeded; otherwise "done", with `failed` and `errors` telling the rest.
            final = "done" if new.get("done_parts") else "failed"
            self.set_status(job_id, final, only_from=("queued", "running"))
            new["status"] = final
        if len(new.get("errors", [])) > MAX_ERRORS:
            self.table.update_item(Key={"pk": f"JOB#{job_id}", "sk": "STATUS"},
                                   UpdateExpression="SET #err = :e", ExpressionAttributeNames={"#err": "errors"},
                                   ExpressionAttributeValues={":e": list(new["errors"])[:MAX_ERRORS]})
        return dict(new)
