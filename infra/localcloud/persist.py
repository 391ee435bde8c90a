"""State that survives a restart of the runner's own moto: the template's DynamoDB items, the messages its SQS queues
still hold, and its KMS key (without which the stored credentials could not be decrypted).

moto keeps everything in memory, in a process of its own (`motoserver.py`). A snapshot reads moto's own objects
instead of going through the API (a Scan and a ReceiveMessage would take locks the functions wait on, and receiving a
message hides it from the pollers), so that part (`SnapshotBackend`) runs inside moto's process, behind its
`/_localcloud/` routes; the runner's `CloudSnapshot` and `Snapshotter` only ask for it. moto's process writes the
file itself, so a snapshot costs the runner one request. What is written is one small, inspectable JSON file:

    {"format": 1, "stack": ..., "saved_at": ...,
     "dynamodb": {table name: [items in DynamoDB JSON]},
     "sqs": {queue name: [{"body", "attributes", "group_id", "deduplication_id"}]},
     "kms": [{"id", "arn", "description", "material", ...}]}

- DynamoDB is read under the lock that already serialises moto's DynamoDB requests
  (`motoserver._serialise_dynamodb`), so all tables come from one instant; restored items do not go to the tables'
  streams (they were published when they were written), so a restart does not replay every config change.
- A queue's messages include those in flight: an invocation cut short by a kill gets its batch back, as SQS returns
  it after the visibility timeout. Receive counts and message ids are not kept (a restored message is a new send).
- The KMS key keeps its id and key material, so ciphertexts written before the restart decrypt after it; the
  provisioner finds it by its `localcloud:*` tags instead of creating another.

Not kept: DynamoDB stream positions (records not yet turned into events are lost: they only refresh caches, which a
restart empties anyway), the runner's own EventBridge/SNS delivery queues (the same), S3 (the viewer is uploaded
again). Vectors live in the embedded Qdrant's folder, which writes through on its own.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud.motoserver import control
from localcloud.provision import LOCAL_ACCOUNT, Stack
from localcloud.sources import binary_as_text

FORMAT = 1


@dataclass
class Restored:
    """What a restore put back, and how long it took."""

    found: bool = False  # a saved state existed
    items: int = 0
    tables: int = 0
    messages: int = 0
    keys: int = 0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)  # names in the snapshot the template no longer has

    def summary(self) -> str:
        text = (f"{self.items} items in {self.tables} tables, {self.messages} queued messages, {self.keys} KMS key"
                f"{'' if self.keys == 1 else 's'} in {self.seconds * 1000:.0f} ms")
        return text + (f" (not in the template any more: {', '.join(self.skipped)})" if self.skipped else "")


def _backends(region: str) -> tuple[Any, Any, Any]:
    from moto.dynamodb.models import dynamodb_backends
    from moto.kms.models import kms_backends
    from moto.sqs.models import sqs_backends

    return (dynamodb_backends[LOCAL_ACCOUNT][region], sqs_backends[LOCAL_ACCOUNT][region],
            kms_backends[LOCAL_ACCOUNT][region])


def _dynamodb_lock() -> Any:
    from moto.dynamodb.responses import DynamoHandler

    return getattr(DynamoHandler, "_localcloud_lock", None) or threading.RLock()


def dynamodb_writes() -> int:
    """How many writing DynamoDB requests this process's moto has served (cheap change detection)."""
    from moto.dynamodb.responses import DynamoHandler

    return int(getattr(DynamoHandler, "_localcloud_writes", [0])[0])


def _binary_as_bytes(value: Any, kind: str | None = None) -> Any:
    """The inverse of `binary_as_text` for moto's items, which hold binary values as bytes."""
    if kind == "B" and isinstance(value, str):
        return base64.b64decode(value)
    if kind == "BS" and isinstance(value, list):
        return [base64.b64decode(v) for v in value]
    if isinstance(value, dict):
        return {k: _binary_as_bytes(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_binary_as_bytes(v) for v in value]
    return value


def _resources(stack: Stack, kind: str) -> dict[str, str]:
    """logical id -> physical name of the template's resources of one type."""
    out = {}
    for logical_id, resource in stack.template.get("Resources", {}).items():
        if resource.get("Type") == kind and logical_id in stack.refs:
            out[logical_id] = (stack.attrs[(logical_id, "QueueName")] if kind == "AWS::SQS::Queue"
                               else str(stack.refs[logical_id]))
    return out


def resource_names(stack: Stack) -> dict[str, list[str]]:
    """What moto's process needs of the stack: its tables, queues and keys by physical name."""
    return {"tables": list(_resources(stack, "AWS::DynamoDB::Table").values()),
            "queues": list(_resources(stack, "AWS::SQS::Queue").values()),
            "keys": list(_resources(stack, "AWS::KMS::Key").values())}


class SnapshotBackend:
    """The snapshot's part that runs inside moto's process (`motoserver`'s control routes): reads and puts back moto's
    own objects, and writes the file."""

    def __init__(self) -> None:
        self._saved_digests: dict[str, int] = {}
        self._save_lock = threading.Lock()

    # ---------------------------------------------------------------- restore
    def restore_keys(self, data: dict[str, Any] | None, region: str) -> int:
        """Before provisioning: the stack's KMS keys with their ids and material."""
        _, _, kms = _backends(region)
        restored = 0
        for saved in (data or {}).get("kms", []):
            if saved["id"] in kms.keys:
                continue
            key = kms.create_key(saved.get("policy"), saved.get("key_usage", "ENCRYPT_DECRYPT"),
                                 saved.get("key_spec", "SYMMETRIC_DEFAULT"), saved.get("description", ""), None)
            del kms.keys[key.id]
            key.id, key.arn = saved["id"], saved["arn"]
            key.key_material = base64.b64decode(saved["material"])
            key.creation_date = saved.get("creation_date", key.creation_date)
            kms.keys[key.id] = key
            if saved.get("tags"):
                kms.tagger.tag_resource(key.id, saved["tags"])
            restored += 1
        return restored

    def restore_data(self, data: dict[str, Any] | None, region: str, names: dict[str, list[str]]) -> dict[str, Any]:
        """After provisioning: table items (without stream records) and queue messages, in their order."""
        out: dict[str, Any] = {"items": 0, "tables": 0, "messages": 0, "skipped": []}
        if not data:
            return out
        dynamodb, sqs, _ = _backends(region)
        tables = set(names["tables"])
        with _dynamodb_lock():
            for name, items in data.get("dynamodb", {}).items():
                table = dynamodb.tables.get(name) if name in tables else None
                if table is None:
                    out["skipped"].append(name)
                    continue
                shard, table.stream_shard = table.stream_shard, None
                try:
                    for attributes in items:
                        table.put_item(_binary_as_bytes(attributes), overwrite=True)
                finally:
                    table.stream_shard = shard
                out["items"] += len(items)
                out["tables"] += 1
        queues = set(names["queues"])
        for name, messages in data.get("sqs", {}).items():
            if name not in queues:
                out["skipped"].append(name)
                continue
            for message in messages:
                sqs.send_message(name, message["body"], message_attributes=message.get("attributes") or None,
                                 deduplication_id=message.get("deduplication_id"), group_id=message.get("group_id"))
            out["messages"] += len(messages)
        return out

    # ---------------------------------------------------------------- capture
    def capture(self, stack_name: str, region: str, names: dict[str, list[str]]) -> dict[str, Any]:
        dynamodb, sqs, kms = _backends(region)
        tables: dict[str, list[dict[str, Any]]] = {}
        with _dynamodb_lock():  # every table at one instant
            for name in names["tables"]:
                table = dynamodb.tables.get(name)
                if table is not None:
                    tables[name] = [binary_as_text(item.to_json()["Attributes"]) for item in table.all_items()]
        queues: dict[str, list[dict[str, Any]]] = {}
        for name in names["queues"]:
            queue = sqs.queues.get(name)
            if queue is None:
                continue
            with queue._messages_lock:
                messages = list(queue._messages)
            queues[name] = [{"body": m.body, "attributes": m.message_attributes or {}, "group_id": m.group_id,
                             "deduplication_id": m.deduplication_id} for m in messages]
        keys = []
        for key_id in names["keys"]:
            key = kms.keys.get(key_id)
            if key is None:
                continue
            keys.append({"id": key.id, "arn": key.arn, "description": key.description, "policy": key.policy,
                         "key_usage": key.key_usage, "key_spec": key.key_spec, "creation_date": key.creation_date,
                         "material": base64.b64encode(key.key_material).decode("ascii"),
                         "tags": kms.tagger.list_tags_for_resource(key.id).get("Tags", [])})
        return {"format": FORMAT, "stack": stack_name, "region": region,
                "dynamodb": tables, "sqs": queues, "kms": keys}

    def save(self, path: str, stack_name: str, region: str, names: dict[str, list[str]]) -> bool:
        """Writes the snapshot when it differs from the last one written (atomically: a kill mid-write leaves the
        previous file). True when it wrote."""
        with self._save_lock:
            data = self.capture(stack_name, region, names)
            body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
            digest = hash(body)
            target = Path(path)
            if digest == self._saved_digests.get(path) and target.is_file():
                return False
            stamped = json.dumps({**data, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, ensure_ascii=False,
                                 separators=(",", ":"))
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            # 0600: the file holds the KMS key material and, through it, every tenant's credentials
            with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
                handle.write(stamped)
                handle.flush()
                os.fsync(handle.fileno())
            tmp.replace(target)
            self._saved_digests[path] = digest
            return True

    def mark(self, names: dict[str, list[str]], region: str) -> list[int]:
        """Changes at a glance: the DynamoDB writes served and each queue's message ids."""
        _, sqs, _ = _backends(region)
        marks = [dynamodb_writes()]
        for name in names["queues"]:
            queue = sqs.queues.get(name)
            if queue is not None:
                marks.append(hash(tuple(m.id for m in list(queue._messages))))
        return marks


BACKEND = SnapshotBackend()  # moto's process has one


class CloudSnapshot:
    """Saves and restores one stack's data on the moto process at `endpoint_url` (a `motoserver`)."""

    def __init__(self, path: Path, stack_name: str, region: str, endpoint_url: str) -> None:
        self.path = path
        self.stack_name = stack_name
        self.region = region
        self.endpoint_url = endpoint_url

    def load(self) -> dict[str, Any] | None:
        """The saved state, None when there is none. A file this code cannot read is an error, not an empty state:
        starting empty would overwrite it at the next snapshot."""
        if not self.path.is_file():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise RuntimeError(f"{self.path} is not readable ({exc}): move it away to start empty") from exc
        if data.get("format") != FORMAT or data.get("stack") != self.stack_name:
            raise RuntimeError(f"{self.path} is format {data.get('format')} of stack {data.get('stack')!r}, not "
                               f"format {FORMAT} of {self.stack_name!r}: move it away to start empty")
        return data  # type: ignore[no-any-return]

    def restore_keys(self, data: dict[str, Any] | None) -> int:
        """Before provisioning: the stack's KMS keys with their ids and material."""
        if not data:
            return 0
        return int(control(self.endpoint_url, "restore-keys", {"data": data, "region": self.region})["keys"])

    def restore_data(self, data: dict[str, Any] | None, stack: Stack, restored: Restored) -> None:
        """After provisioning: table items (without stream records) and queue messages, in their order."""
        if not data:
            return
        done = control(self.endpoint_url, "restore-data",
                       {"data": data, "region": self.region, "names": resource_names(stack)})
        restored.items += done["items"]
        restored.tables += done["tables"]
        restored.messages += done["messages"]
        restored.skipped.extend(done["skipped"])

    def save(self, stack: Stack) -> bool:
        """moto's process writes the snapshot when it differs from the last one it wrote. True when it wrote."""
        return bool(control(self.endpoint_url, "snapshot", {"path": str(self.path), "stack": self.stack_name,
                                                           "region": self.region,
                                                           "names": resource_names(stack)})["written"])

    def mark(self, stack: Stack) -> list[int]:
        return list(control(self.endpoint_url, "mark", {"names": resource_names(stack), "region": self.region})["mark"])


class Snapshotter(threading.Thread):
    """Saves every `interval_s` while something changed, so a `kill -9` loses at most that much."""

    def __init__(self, snapshot: CloudSnapshot, stack: Stack, interval_s: float) -> None:
        super().__init__(name="snapshots", daemon=True)
        self.snapshot = snapshot
        self.stack = stack
        self.interval_s = interval_s
        self._stopping = threading.Event()
        self.saves = 0
        self.last_save_s = 0.0

    def run(self) -> None:
        seen: list[int] | None = None
        while not self._stopping.wait(self.interval_s):
            try:
                mark = self.snapshot.mark(self.stack)
                if mark == seen:
                    continue
                started = time.perf_counter()
                if self.snapshot.save(self.stack):
                    self.saves += 1
                    self.last_save_s = time.perf_counter() - started
                seen = mark
            except Exception as exc:  # a failed snapshot must not stop the stack; the next one retries
                print(f"[localcloud] snapshot failed: {type(exc).__name__}: {exc}", flush=True)

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=5)
