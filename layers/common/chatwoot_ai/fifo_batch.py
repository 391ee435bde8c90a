"""An SQS FIFO batch with partial failures: the message groups of a batch run in parallel, the messages of one group
in order; a failed message (and the ones after it in its group) return to the queue, whose redrive policy parks them
in the DLQ.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

MAX_PARALLEL_GROUPS = 10


def process_fifo_batch(event: dict[str, Any], record_handler: Callable[[SQSRecord], Any],
                       context: Any) -> dict[str, Any]:
    groups: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
    for record in event.get("Records", []):
        group = (record.get("attributes") or {}).get("MessageGroupId") or record.get("messageId", "")
        groups.setdefault(group, []).append(record)

    def process_group(records: list[dict[str, Any]]) -> list[dict[str, str]]:
        processor = SqsFifoPartialProcessor()
        # One group is part of a batch: its failing entirely is reported like any partial failure, not raised.
        processor.raise_on_entire_batch_failure = False
        response = process_partial_response(event={"Records": records}, record_handler=record_handler,
                                            processor=processor, context=context)
        return [{"itemIdentifier": str(item["itemIdentifier"])} for item in response.get("batchItemFailures", [])]

    if len(groups) <= 1:
        results = [process_group(records) for records in groups.values()]
    else:
        with ThreadPoolExecutor(max_workers=min(len(groups), MAX_PARALLEL_GROUPS),
                                thread_name_prefix="conversation") as pool:
            results = list(pool.map(process_group, groups.values()))
    return {"batchItemFailures": [failure for group in results for failure in group]}
