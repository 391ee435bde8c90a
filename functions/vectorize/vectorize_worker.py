"""VectorizeWorkerFunction: SQS messages (parts of vectorize jobs) -> embeddings -> Qdrant
(chatwoot_ai.vectorize_parts, chatwoot_ai.vector).

Each message is handled on its own: a failure is reported in `batchItemFailures`, so only that message returns to
the queue; on its last receive (the queue's maxReceiveCount) its records are counted as failed in the job, with the
error, and the queue moves it to the DLQ.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chatwoot_ai.middleware import config_changes
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import get_settings
from chatwoot_ai.vectorize_parts import give_up, handle_record, job_store


@logger.inject_lambda_context(clear_state=True)
@config_changes
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    max_receives = get_settings().vectorize_max_receive_count
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        try:
            handle_record(record, job_store())
        except Exception as exc:
            receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
            logger.exception("vectorize part failed", extra={"message_id": record.get("messageId"),
                                                             "receive_count": receives})
            if receives >= max_receives or isinstance(exc, ValueError):
                give_up(record, job_store(), exc)
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
