"""ConfigApiFunction: the Config API (docs/config.md) - versioned documents, the mapping, the Odoo webhook.

Routes: chatwoot_ai.routes.configs; the domain: chatwoot_ai.config (service, odoo_delivery).
"""

from chatwoot_ai.api import http_api
from chatwoot_ai.middleware import http_entry
from chatwoot_ai.routes import configs

app = http_api(configs.router)
lambda_handler = http_entry(app)
