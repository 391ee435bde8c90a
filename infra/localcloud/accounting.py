"""What one invocation would be billed for: counted in the function's own process from the calls it makes.

`Meter` wraps botocore's `Endpoint.make_request` (one call per API operation, whatever the client or resource layer
above it) and reads the wire request and the parsed answer, so it sees what AWS would bill:
- DynamoDB request units, on-demand rules: a write is 1 WRU per started KB of the item (2 in a transaction), a
  strongly consistent read 1 RRU per started 4 KB (eventually consistent half, transactional double); a query reads
  the sizes of the items it returns (at least one unit). Item sizes follow DynamoDB's rules (attribute names + values).
  An update or delete is sized by what the request carries (the old item is not known here): a lower bound.
- SQS requests: one per API call per started 64 KB of payload; EventBridge: one per event per started 64 KB;
  KMS, SNS, S3: one per call.
The environment process adds the invocation's billed duration (init included, as Lambda bills it since 2025), the
log bytes it wrote and its Qdrant calls, and reports them with the result (`localcloud.lambdas`).
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter, defaultdict
from typing import Any

KB = 1024


def attribute_size(value: Any) -> int:
    """The size DynamoDB counts for one typed attribute value (`{"S": "..."}`, `{"N": "12"}`, `{"M": {...}}`...)."""
    if not isinstance(value, dict) or len(value) != 1:
        return len(json.dumps(value, default=str))
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        digits = str(inner).lstrip("-").replace(".", "").lstrip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(inner) if isinstance(inner, bytes | bytearray) else math.ceil(len(str(inner)) * 3 / 4)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: item}) for item in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_size(item) for item in inner)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + attribute_size(item) for name, item in inner.items())
    return len(json.dumps(inner, default=str))


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in (item or {}).items())


def _write_units(size: int, transactional: bool = False) -> float:
    return max(1, math.ceil(size / KB)) * (2 if transactional else 1)


def _read_units(size: int, consistent: bool, transactional: bool = False) -> float:
    units = max(1, math.ceil(size / (4 * KB)))
    if transactional:
        return units * 2.0
    return float(units) if consistent else units / 2


def dynamodb_units(operation: str, request: dict[str, Any], response: dict[str, Any]) -> tuple[float, float]:
    """(read request units, write request units) of one DynamoDB call."""
    consistent = bool(request.get("ConsistentRead"))
    if operation == "GetItem":
        return _read_units(item_size(response.get("Item")), consistent), 0.0
    if operation in ("Query", "Scan"):
        return _read_units(sum(item_size(i) for i in response.get("Items", [])), consistent), 0.0
    if operation == "BatchGetItem":
        found = [i for items in (response.get("Responses") or {}).values() for i in items]
        return sum(_read_units(item_size(i), consistent) for i in found) or 0.5, 0.0
    if operation == "TransactGetItems":
        return sum(_read_units(item_size(r.get("Item")), True, True) for r in response.get("Responses", [])), 0.0
    if operation == "PutItem":
        return 0.0, _write_units(item_size(request.get("Item")))
    if operation == "UpdateItem":
        values = request.get("ExpressionAttributeValues") or {}
        return 0.0, _write_units(item_size(request.get("Key")) + sum(attribute_size(v) for v in values.values()))
    if operation == "DeleteItem":
        return 0.0, _write_units(item_size(request.get("Key")))
    if operation == "BatchWriteItem":
        writes = [w for items in (request.get("RequestItems") or {}).values() for w in items]
        return 0.0, sum(_write_units(item_size((w.get("PutRequest") or w.get("DeleteRequest") or {}).get("Item")
                                               or (w.get("DeleteRequest") or {}).get("Key"))) for w in writes)
    if operation == "TransactWriteItems":
        units = 0.0
        for entry in request.get("TransactItems", []):
            kind, op = next(iter(entry.items()))
            size = item_size(op.get("Item") or op.get("Key"))
            if kind == "Update":
                size += sum(attribute_size(v) for v in (op.get("ExpressionAttributeValues") or {}).values())
            units += _write_units(size, transactional=True)
        return 0.0, units
    return 0.0, 0.0


def _chunks(payload_bytes: int, chunk: int = 64 * KB) -> int:
    return max(1, math.ceil(payload_bytes / chunk))


class Meter:
    """Counts this process's billable work; `take()` returns it and starts again (one invocation each)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.calls: Counter[str] = Counter()
        self.units: defaultdict[str, float] = defaultdict(float)

    def take(self) -> dict[str, Any]:
        with self._lock:
            taken = {"calls": dict(self.calls), "units": {k: round(v, 3) for k, v in self.units.items()}}
            self._reset()
        return taken

    def add(self, key: str, count: float = 1) -> None:
        with self._lock:
            self.units[key] += count

    def record(self, service: str, operation: str, body: bytes | str | None, response: Any) -> None:
        raw = body.encode() if isinstance(body, str) else (body or b"")
        with self._lock:
            self.calls[f"{service}.{operation}"] += 1
            if service == "dynamodb":
                try:
                    request = json.loads(raw or b"{}")
                except ValueError:
                    request = {}
                reads, writes = dynamodb_units(operation, request, response if isinstance(response, dict) else {})
                self.units["dynamodb_rru"] += reads
                self.units["dynamodb_wru"] += writes
            elif service == "sqs":
                self.units["sqs_requests"] += _chunks(len(raw))
            elif service == "events" and operation == "PutEvents":
                try:
                    entries = json.loads(raw or b"{}").get("Entries", [])
                except ValueError:
                    entries = []
                self.units["eventbridge_events"] += sum(_chunks(len(json.dumps(e))) for e in entries) or 1
            elif service in ("kms", "sns", "s3"):
                self.units[f"{service}_requests"] += 1


METER = Meter()
_target: Meter | None = None
_patched = False


def stop() -> None:
    """Counts nothing more (a test that metered its own calls)."""
    global _target
    _target = None


def install(meter: Meter = METER) -> None:
    """Counts every AWS call this process makes from now on, into `meter`."""
    global _target, _patched
    _target = meter
    if _patched:
        return
    _patched = True
    from botocore.endpoint import Endpoint

    make_request = Endpoint.make_request

    def metered(self: Any, operation_model: Any, request_dict: dict[str, Any]) -> Any:
        result = make_request(self, operation_model, request_dict)
        try:
            service = operation_model.service_model.endpoint_prefix
            if _target is not None:
                _target.record(service, operation_model.name, request_dict.get("body"), result[1])
        except Exception:  # accounting never breaks a call
            pass
        return result

    Endpoint.make_request = metered  # type: ignore[method-assign,assignment]
