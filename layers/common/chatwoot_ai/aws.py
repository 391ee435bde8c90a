"""boto3 clients and resources, created once per process and pointed at AWS_ENDPOINT_URL when set.

boto3 itself honours AWS_ENDPOINT_URL; we pass it explicitly too so a client made after the environment changed
(the local runner, tests) still goes where the settings say.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from chatwoot_ai.settings import get_settings

_lock = threading.Lock()
_clients: dict[tuple[str, str, str | None], Any] = {}
_BOTO_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=10,
                      max_pool_connections=32)


def _key(kind: str, service: str) -> tuple[str, str, str | None]:
    settings = get_settings()
    return (kind, service, settings.aws_endpoint_url)


def client(service: str) -> Any:
    key = _key("client", service)
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        if key not in _clients:
            settings = get_settings()
            _clients[key] = boto3.session.Session().client(
                service,  # type: ignore[call-overload]
                region_name=settings.aws_region,
                endpoint_url=settings.aws_endpoint_url or None,
                config=_BOTO_CONFIG,
            )
        return _clients[key]


def resource(service: str) -> Any:
    key = _key("resource", service)
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        if key not in _clients:
            settings = get_settings()
            _clients[key] = boto3.session.Session().resource(
                service,  # type: ignore[call-overload]
                region_name=settings.aws_region,
                endpoint_url=settings.aws_endpoint_url or None,
                config=_BOTO_CONFIG,
            )
        return _clients[key]


def table(name: str) -> Any:
    """A DynamoDB Table resource by physical name."""
    return resource("dynamodb").Table(name)


def reset_clients() -> None:
    with _lock:
        _clients.clear()
