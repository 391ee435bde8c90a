"""The step every config-caching handler takes first: a `ConfigChanged` event (the bus delivers one to each function
that caches configs, through the same entry point as its requests) refreshes this instance's config cache, and
nothing else runs.

    @logger.inject_lambda_context(clear_state=True)
    @config_changes
    def lambda_handler(event, context): ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.middleware_factory import lambda_handler_decorator


@lambda_handler_decorator
def config_changes(handler: Callable[[Any, Any], Any], event: Any, context: Any) -> Any:
    # Imported here: the config cache (and boto3 with it) loads on the first event or read that needs it.
    from chatwoot_ai.config import get_config_cache, is_config_changed_event

    if is_config_changed_event(event):
        get_config_cache().handle_event(event)
        return {}
    return handler(event, context)
