"""The steps every handler takes before its own work: Logger's Lambda context, and for the config-caching ones,
`ConfigChanged` events (the bus delivers one to each function that caches configs, through the same entry point as
its requests): it refreshes this instance's config cache, and nothing else runs.

    @logger.inject_lambda_context(clear_state=True)
    @config_changes
    def lambda_handler(event, context): ...

    lambda_handler = http_entry(app)    # an HTTP API: the same two steps, then its resolver
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.middleware_factory import lambda_handler_decorator

from chatwoot_ai.observability import logger


@lambda_handler_decorator
def config_changes(handler: Callable[[Any, Any], Any], event: Any, context: Any) -> Any:
    # Imported here: the config cache (and the AWS clients with it) loads on the first event or read that needs it.
    from chatwoot_ai.config import get_config_cache, is_config_changed_event

    if is_config_changed_event(event):
        get_config_cache().handle_event(event)
        return {}
    return handler(event, context)


def http_entry(app: Any) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda entry of an HTTP API built with chatwoot_ai.api.http_api."""

    @logger.inject_lambda_context(clear_state=True)
    @config_changes
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)  # type: ignore[no-any-return]

    return lambda_handler
