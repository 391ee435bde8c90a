"""Logger, tracer and metrics, one place. Logs are structured JSON with tenant/conversation/correlation ids.

The tracer and metrics are created on first use: the X-Ray SDK alone costs ~300 ms of import, which the webhook
receiver's cold start cannot afford.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "chatwoot-ai")

logger = Logger(service=SERVICE, level=os.environ.get("LOG_LEVEL", "INFO"))


@lru_cache(maxsize=1)
def tracer() -> Any:
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE, disabled=os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").lower() == "true")


@lru_cache(maxsize=1)
def metrics() -> Any:
    from aws_lambda_powertools import Metrics

    return Metrics(namespace="ChatwootAI", service=SERVICE)
