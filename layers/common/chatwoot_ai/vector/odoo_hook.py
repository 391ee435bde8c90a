"""Odoo's own "Send Webhook Notification" (an automation rule's server action, Odoo 17+) as a vectorize request.

Odoo POSTs `json.dumps({"_model", "_id", "_action": "<action name>(#<action id>)", **record.read(fields,
load=None)[0]}, sort_keys=True, default=str)` with only a Content-Type header, and waits 1 s (odoo/addons/base/
models/ir_actions.py, `IrActionsServer._run_action_webhook`; tests/fixtures/odoo/README.md). `load=None` means a
many2one arrives as a bare id and an x2many as a list of ids; an empty field is `false`.

What a body becomes (the tenant's `odoo` config, chatwoot_ai.odoo.sources):
- `product.product` → that record of the products collection (id = the variant's id, as the pull sync uses);
  `product.template` → one record per variant in `product_variant_ids` (the field must be among the rule's fields);
- a model named in `odoo.sources.documents` → a support document `odoo:<model>:<id>`;
- removal when the rule's action name is a deletion rule (`odoo.webhook.delete_actions`: Odoo's "On deletion"
  trigger posts the same body as an update), when `active` or (products) `sale_ok` is false, or when a field of the
  tenant's domain filter is in the body and no longer matches;
- anything else is a 4xx naming the field, and nothing is queued.
"""

from __future__ import annotations

from typing import Any

from chatwoot_ai.errors import ApiError
from chatwoot_ai.odoo.sources import PRODUCT_MODELS, TEMPLATE, OdooFeeds, matches
from chatwoot_ai.vector.models import VectorizeRequest
from chatwoot_ai.vector.odoo_records import document_id, document_record, product_record, product_removed, text_of


def _missing(field: str, model: str) -> ApiError:
    return ApiError(422, "missing_field", f"the body has no {field!r}: add it to the automation rule's webhook "
                    f"fields for {model}", field)


def _ids(payload: dict[str, Any]) -> tuple[str, int]:
    model, record_id = payload.get("_model"), payload.get("_id")
    if not isinstance(model, str) or not model:
        raise ApiError(422, "validation_error", "not an Odoo webhook body: _model is missing (use the action "
                       "'Send Webhook Notification')", "_model")
    if isinstance(record_id, bool) or not isinstance(record_id, int) or record_id < 1:
        raise ApiError(422, "validation_error", "_id must be the record's positive integer id", "_id")
    return model, record_id


def hook_request(tenant_id: str, payload: dict[str, Any], feeds: OdooFeeds) -> VectorizeRequest:
    """The vectorize request a webhook body stands for; ApiError (4xx, naming the field) when it cannot be used."""
    model, record_id = _ids(payload)
    deleting = feeds.is_delete_action(payload.get("_action"))
    products = feeds.sources.products
    if model in PRODUCT_MODELS and products.enabled:
        if model == TEMPLATE:
            variants = payload.get("product_variant_ids")
            if not isinstance(variants, list) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                         for v in variants):
                raise _missing("product_variant_ids", TEMPLATE)
            ids = [str(v) for v in variants]
        else:
            ids = [str(record_id)]
        if deleting or product_removed(payload) or matches(payload, products.domain) is False:
            return VectorizeRequest(tenant_id=tenant_id, collection=products.collection, delete_ids=ids)
        if not text_of(payload.get("name")):
            raise _missing("name", model)
        template_id = record_id if model == TEMPLATE else None
        # A template's body stands for each of its variants (the same text under each variant's id).
        records = [product_record({**payload, "id": int(i)}, products.currency, template_id) for i in ids]
        return VectorizeRequest(tenant_id=tenant_id, collection=products.collection, records=records)
    source = feeds.document_source(model)
    if source is None:
        known = [*(PRODUCT_MODELS if products.enabled else ()), *(s.model for s in feeds.sources.documents)]
        raise ApiError(422, "unknown_model", f"{model!r} feeds no collection of this tenant (known: "
                       f"{', '.join(known) or 'none'}; add it to odoo.sources.documents)", "_model")
    record_key = document_id(model, record_id)
    if deleting or payload.get("active") is False or matches(payload, source.domain) is False:
        return VectorizeRequest(tenant_id=tenant_id, collection=source.collection, delete_ids=[record_key])
    for field in (source.name_field, source.text_field):
        if field not in payload:
            raise _missing(field, model)
    record = document_record({**payload, "id": record_id}, source)
    if not record.text.strip():
        raise ApiError(422, "empty_text", f"{source.name_field} and {source.text_field} are both empty",
                       source.text_field)
    return VectorizeRequest(tenant_id=tenant_id, collection=source.collection, records=[record])
