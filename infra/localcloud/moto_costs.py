"""moto's per-call costs brought near a GetItem's where they were moto's own work, not AWS's behaviour.

The receiver's two round trips (a TransactWriteItems and an SQS FIFO send) cost the emulated cloud far more CPU than
a GetItem: measured in its serving thread, a GetItem 0.05 ms, the send 0.34 ms (at 20 queued messages; more as the
queue grows), the transaction 2.1 ms; and under load a ReceiveMessage from a FIFO queue 2,000 messages deep took
0.8 s. What each patch below removes is work moto repeats, with the same results.

SQS (`cheap_queue_reads`). moto 5.2 reads `Queue.attributes` four times per SendMessage (to know whether the queue
deduplicates by content) and three times per message it receives (its retention period), and that property computes
every attribute of the queue, among them the three approximate message counts: each walks the whole queue and asks
every message for the time twice, and moto's clock builds two datetimes per reading. Profiled: 97 % of a FIFO send's
server time (p50 6.8 ms at 20 queued messages, 35 ms at 500; a GetItem 2 ms), and 240,000 clock readings per
ReceiveMessage of 10 at 2,000 queued. The receiver sends one job per webhook and the worker's pollers receive
batches; under load the conversation queue holds thousands, so every webhook and every batch paid for the backlog.
During a send or a receive (in the thread serving it) `Queue.attributes` is a view that computes only the attribute
asked for, the way the property computes it (everywhere else it is moto's own dict), and SQS's clock is
`time.time()`, the same instant without the datetimes.
"""

from __future__ import annotations

import threading
from typing import Any

_moving = threading.local()  # a send or a receive is being served in this thread


class _OneAttribute:
    """What the send and receive paths use of `Queue.attributes`: `.get(name)` and `in`, each name computed alone."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue

    def _known(self) -> list[str]:
        queue = self.queue
        return [*queue.BASE_ATTRIBUTES, *(queue.FIFO_ATTRIBUTES if queue.fifo_queue else ()),
                *(queue.KMS_ATTRIBUTES if queue.kms_master_key_id else ())]

    def __contains__(self, name: object) -> bool:
        return name in self._known()

    def get(self, name: str, default: Any = None) -> Any:
        from moto.core.utils import camelcase_to_underscores

        if name not in self._known():
            return default
        value = getattr(self.queue, camelcase_to_underscores(name))
        return str(value).lower() if isinstance(value, bool) else value


def cheap_queue_reads() -> None:
    """Applied once per process that serves moto (with the runner's other moto patches)."""
    import time

    import moto.sqs.models as sqs_models
    from moto.sqs.models import Queue, SQSBackend

    if getattr(Queue, "_localcloud_one_attribute", False):
        return
    every_attribute = Queue.attributes.fget  # type: ignore[attr-defined]
    unix_time, unix_time_millis = sqs_models.unix_time, sqs_models.unix_time_millis

    def attributes(self: Any) -> Any:
        return _OneAttribute(self) if getattr(_moving, "active", False) else every_attribute(self)

    def moving(call: Any) -> Any:
        def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
            outer = getattr(_moving, "active", False)
            _moving.active = True
            try:
                return call(self, *args, **kwargs)
            finally:
                _moving.active = outer

        return wrapped

    def now_s(dt: Any = None) -> float:
        return time.time() if dt is None else float(unix_time(dt))

    def now_ms(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else float(unix_time_millis(dt))

    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]
    for name in ("send_message", "send_message_batch", "receive_message"):
        setattr(SQSBackend, name, moving(getattr(SQSBackend, name)))
    sqs_models.unix_time, sqs_models.unix_time_millis = now_s, now_ms  # type: ignore[assignment]
    Queue._localcloud_one_attribute = True  # type: ignore[attr-defined]


def parsed_conditions_once() -> None:
    """moto parses a condition expression from its text at every use, and a TransactWriteItems uses each three times
    (the request's validation, the transaction's check, the Put's own): 1.6 ms of the receiver's 2.1 ms transaction
    went to lexing "attribute_not_exists(id) OR expiration < :now" over and over. A parser's result depends only on the
    expression, its names and its values, and evaluating the tree changes nothing, so a parser that has parsed is kept
    for the same three and hands back its tree (and the names and values it found). An expression that does not parse
    gets a fresh parser, which raises where moto expects it to. Applied once per process that serves moto."""
    import json
    from functools import lru_cache

    import moto.dynamodb.comparisons as comparisons
    import moto.dynamodb.models as models
    import moto.dynamodb.responses as responses

    if getattr(comparisons, "_localcloud_parsed_once", False):
        return
    fresh = comparisons.create_condition_expression_parser

    @lru_cache(maxsize=512)
    def parsed(expr: str, names: str, values: str) -> Any:
        parser = fresh(expr, json.loads(names), json.loads(values))
        tree = parser.parse()
        parser.parse = lambda: tree  # type: ignore[method-assign]
        return parser

    def create_condition_expression_parser(expr: Any, names: Any, values: Any) -> Any:
        if not isinstance(expr, str):
            return fresh(expr, names, values)
        try:
            return parsed(expr, json.dumps(names, sort_keys=True), json.dumps(values, sort_keys=True))
        except Exception:  # not JSON data, or not an expression: moto's own parser, and its own error
            return fresh(expr, names, values)

    for module in (comparisons, models, responses):
        module.create_condition_expression_parser = create_condition_expression_parser  # type: ignore[attr-defined]
    comparisons._localcloud_parsed_once = True  # type: ignore[attr-defined]


def apply() -> None:
    """Every patch of this module (the runner's moto, the tests' and the bench's)."""
    cheap_queue_reads()
    parsed_conditions_once()
