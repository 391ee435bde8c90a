"""ConfigApiFunction: the Config API (docs/config.md) - versioned documents, the mapping, the Odoo webhook.

Routes: chatwoot_ai.routes.configs; the domain: chatwoot_ai.config (service, odoo_delivery).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from chatwoot_ai.api import install_error_handlers
from chatwoot_ai.middleware import config_changes
from chatwoot_ai.observability import logger
from chatwoot_ai.routes import configs

app = APIGatewayHttpResolver()
install_error_handlers(app)
app.include_router(configs.router)


@logger.inject_lambda_context(clear_state=True)
@config_changes
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
