"""The environment tests and the bench run in: fake AWS credentials for the emulated cloud, no telemetry, no model
downloads, no X-Ray or CloudWatch metrics; values already set win."""

from __future__ import annotations

import os


def set_offline_defaults(log_level: str) -> None:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1"), ("CREWAI_DISABLE_TELEMETRY", "true"),
                        ("OTEL_SDK_DISABLED", "true"), ("HF_HUB_OFFLINE", "1"),
                        ("POWERTOOLS_TRACE_DISABLED", "true"), ("POWERTOOLS_METRICS_DISABLED", "true"),
                        ("LOG_LEVEL", log_level)):
        os.environ.setdefault(name, value)
