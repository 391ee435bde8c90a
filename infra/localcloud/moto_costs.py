"""moto's per-call costs brought near a GetItem's where they were moto's own work, not AWS's behaviour.

The receiver's two round trips (a TransactWriteItems and an SQS FIFO send) cost the emulated cloud far more CPU than
a GetItem: measured in its serving thread, a GetItem 0.05 ms, the send 0.34 ms (at 20 queued messages; more as the
queue grows), the transaction 2.1 ms. What each patch below removes is work moto repeats, with the same results.

SQS sends (`fast_fifo_sends`). moto 5.2 reads `Queue.attributes` four times per SendMessage (to know whether the queue
deduplicates by content), and that property computes every attribute of the queue, among them the three approximate
message counts: each walks the whole queue and asks every message for the time twice. Profiled: 97 % of a FIFO send's
server time, p50 6.8 ms at 20 queued messages, 35 ms at 500 (a GetItem on the same server: 2 ms). The receiver sends
one job per webhook, and under load the conversation queue holds hundreds, so every webhook paid for the backlog.

During a send (SendMessage or SendMessageBatch, in the thread serving it) `Queue.attributes` is a view that computes
only the attribute asked for, the way the property computes it; everywhere else it is moto's own dict.
"""

from __future__ import annotations

import threading
from typing import Any

_sending = threading.local()


class _OneAttribute:
    """What the send path uses of `Queue.attributes`: `.get(name)`, each name computed alone."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue

    def get(self, name: str, default: Any = None) -> Any:
        from moto.core.utils import camelcase_to_underscores

        queue = self.queue
        known = list(queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            known += queue.FIFO_ATTRIBUTES
        if name not in known:
            return default
        value = getattr(queue, camelcase_to_underscores(name))
        return str(value).lower() if isinstance(value, bool) else value


def fast_fifo_sends() -> None:
    """Applied once per process that serves moto (with the runner's other moto patches)."""
    from moto.sqs.models import Queue, SQSBackend

    if getattr(Queue, "_localcloud_one_attribute", False):
        return
    every_attribute = Queue.attributes.fget  # type: ignore[attr-defined]

    def attributes(self: Any) -> Any:
        return _OneAttribute(self) if getattr(_sending, "active", False) else every_attribute(self)

    def sending(send: Any) -> Any:
        def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
            outer = getattr(_sending, "active", False)
            _sending.active = True
            try:
                return send(self, *args, **kwargs)
            finally:
                _sending.active = outer

        return wrapped

    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]
    SQSBackend.send_message = sending(SQSBackend.send_message)  # type: ignore[method-assign]
    SQSBackend.send_message_batch = sending(SQSBackend.send_message_batch)  # type: ignore[method-assign]
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
    fast_fifo_sends()
    parsed_conditions_once()
