"""VectorizeApiFunction: accept Odoo data (202 + job id), job status, search, collections (docs/vectorize.md).

Routes: chatwoot_ai.routes.vectorize; the work: chatwoot_ai.vector.
"""

from chatwoot_ai.api import http_api
from chatwoot_ai.middleware import http_entry
from chatwoot_ai.routes import vectorize

app = http_api(vectorize.router)
lambda_handler = http_entry(app)
