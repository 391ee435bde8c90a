"""Logger, tracer and metrics, one place. Logs are structured JSON with tenant/conversation/correlation ids."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "chatwoot-ai")

logger = Logger(service=SERVICE, level=os.environ.get("LOG_LEVEL", "INFO"))
tracer = Tracer(service=SERVICE, disabled=os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").lower() == "true")
metrics = Metrics(namespace="ChatwootAI", service=SERVICE)
