"""OdooSyncScheduleFunction: every 5 minutes (EventBridge schedule), starts the scheduled Odoo sync of each tenant
whose `odoo.sync_interval_min` has passed (chatwoot_ai.vector.odoo_sync). The reading itself happens in the
vectorize worker, one job per tenant, so a slow Odoo never holds up the others."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chatwoot_ai import aws
from chatwoot_ai.config.tables import ConfigStore
from chatwoot_ai.middleware import config_changes
from chatwoot_ai.observability import logger
from chatwoot_ai.settings import get_settings
from chatwoot_ai.vector.odoo_sync import SyncStateDal, start_due_syncs
from chatwoot_ai.vectorize_parts import job_store


def configured_tenants() -> list[tuple[str, str]]:
    """Every (tenant, domain) with a `config` document (a Scan of head items: a few hundred items every 5 min)."""
    store = ConfigStore(aws.client("dynamodb"), get_settings().resources.config_table, None)
    return sorted({(h.tenant_id, h.domain) for h in store.heads() if h.config_type == "config"})


@logger.inject_lambda_context(clear_state=True)
@config_changes
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    jobs = job_store()
    started = start_due_syncs(configured_tenants(), jobs, SyncStateDal(jobs.table), aws.client("sqs"),
                              get_settings().resources.vectorize_queue_url)
    return {"started": started}
