"""AWS clients and resources, created once per settings and pointed at AWS_ENDPOINT_URL when set.

Clients come from botocore directly (what `boto3.client` wraps): the webhook receiver then never imports boto3, whose
package import pulls s3transfer in and was the largest part of the receiver's cold start. Resources (DynamoDB Table)
need boto3 and import it on first use. botocore honours AWS_ENDPOINT_URL; we pass it explicitly too so a client made
after the environment changed (the local runner, tests) still goes where the settings say.
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config

from chatwoot_ai.memo import per_settings
from chatwoot_ai.settings import Settings

_BOTO_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=10,
                      max_pool_connections=32)


def _options(settings: Settings) -> dict[str, Any]:
    return {"region_name": settings.aws.region, "endpoint_url": settings.aws.endpoint_url or None,
            "config": _BOTO_CONFIG}


@per_settings
def client(settings: Settings, service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().create_client(service, **_options(settings))


@per_settings
def resource(settings: Settings, service: str) -> Any:
    import boto3

    return boto3.session.Session().resource(service, **_options(settings))  # type: ignore[call-overload]


def table(name: str) -> Any:
    """A DynamoDB Table resource by physical name."""
    return resource("dynamodb").Table(name)


def reset_clients() -> None:
    client.reset()
    resource.reset()
