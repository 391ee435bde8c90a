"""Logger, tracer and metrics, one place. Logs are structured JSON with tenant/conversation/correlation ids.

The tracer and metrics are created on first use: the X-Ray SDK alone costs ~300 ms of import, which the webhook
receiver's cold start cannot afford.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "chatwoot-ai")

logger = Logger(service=SERVICE, level=os.environ.get("LOG_LEVEL", "INFO"))
# Our records are JSON already; passed on to the root logger they would print a second time.
logging.getLogger(logger.name).propagate = False
if not logging.getLogger().handlers:
    # As in Lambda, the root logger has a handler, so a library's logging.basicConfig (FastMCP installs a Rich
    # console handler that way) changes nothing, and other libraries' warnings still show.
    _root = logging.StreamHandler()
    _root.setLevel(logging.WARNING)
    logging.getLogger().addHandler(_root)


@lru_cache(maxsize=1)
def tracer() -> Any:
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE, disabled=os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").lower() == "true")


@lru_cache(maxsize=1)
def metrics() -> Any:
    from aws_lambda_powertools import Metrics

    return Metrics(namespace="ChatwootAI", service=SERVICE)
