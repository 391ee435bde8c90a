"""A tenant's Odoo: XML-RPC or JSON-2 client with an allow-list, pooled connections, a short read cache, and the
seven operations the gateway exposes (REST and MCP). `mcp_tools` is the crew's small MCP client for the gateway."""

from chatwoot_ai.odoo.client import OdooClient
from chatwoot_ai.odoo.operations import CustomerIn, OdooOperations, QuotationIn, QuotationLine
from chatwoot_ai.odoo.pool import ConnectionPool, get_pool
from chatwoot_ai.odoo.read_cache import TtlCache, get_read_cache
from chatwoot_ai.odoo.transport import OdooTarget

__all__ = ["ConnectionPool", "CustomerIn", "OdooClient", "OdooOperations", "OdooTarget", "QuotationIn",
           "QuotationLine", "TtlCache", "get_pool", "get_read_cache"]
