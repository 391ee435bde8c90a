"""InsightsApiFunction: the business owner's view (docs/conversation.md "Traces") - conversations with their traces,
the playground (the tenant's real crew, nothing written) and the numbers per day.

Routes: chatwoot_ai.routes.insights; the work: chatwoot_ai.conversation (insights, trace, pipeline.decide_turn).
The conversation worker's image: the playground imports crewai on its first question that needs a model.
"""

from chatwoot_ai.api import http_api
from chatwoot_ai.middleware import http_entry
from chatwoot_ai.routes import insights

app = http_api(insights.router)
lambda_handler = http_entry(app)
