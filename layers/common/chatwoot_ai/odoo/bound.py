"""The gateway's operations for a caller that speaks for one customer (a conversation worker's signed identity).

Catalogue reads (products, stock) are the same for everyone. Order and customer lookups answer for the identified
Chatwoot contact only:
- `get_order_status(ref)`: an order whose partner is not the contact is "not found", exactly as a missing one (order
  refs are sequential: a different answer would confirm that the order exists);
- `find_customer`: the contact's own record(s), whatever phone or e-mail the model asked for; another person's
  phone or e-mail finds nobody;
- `create_quotation` only for the contact's own partner; `create_customer` only with the contact's own e-mail or
  phone (an existing e-mail would otherwise hand back that customer's record);
- with no phone and no e-mail (an anonymous web-widget visitor), each of them answers 403 `verification_required`:
  the crew hands the conversation to a person (conversation.handoff "verification").

A partner is the contact's when its e-mail equals the contact's (case-insensitive) or its phone or mobile, as digits,
is the contact's E.164 number or that number's national part (at least 10 digits: area code and number). The admin
key and tenant keys keep the unbound operations (chatwoot_ai.odoo.operations).
"""

from __future__ import annotations

from typing import Any

from chatwoot_ai.errors import ApiError, not_found
from chatwoot_ai.identity import VERIFICATION_REQUIRED, CustomerIdentity
from chatwoot_ai.odoo.operations import PARTNER, PARTNER_FIELDS, CustomerIn, OdooOperations, QuotationIn, digits

MIN_NATIONAL_DIGITS = 10


def phone_matches(contact_phone: str | None, other: Any) -> bool:
    mine, theirs = digits(contact_phone), digits(other)
    if not mine or len(theirs) < MIN_NATIONAL_DIGITS:
        return False
    return mine == theirs or mine.endswith(theirs) or theirs.endswith(mine)


def email_matches(contact_email: str | None, other: Any) -> bool:
    if not contact_email or not isinstance(other, str):
        return False
    return other.strip().lower() == contact_email.strip().lower()


def is_contact(customer: CustomerIdentity, record: dict[str, Any]) -> bool:
    return email_matches(customer.email, record.get("email")) or any(
        phone_matches(customer.phone, record.get(key)) for key in ("phone", "mobile"))


def verification_required(what: str) -> ApiError:
    return ApiError(403, VERIFICATION_REQUIRED,
                    f"{what} needs a verified customer: this contact has no phone or e-mail to match in Odoo; "
                    "ask the customer to confirm their details, or hand the conversation to a person")


class CustomerBoundOperations:
    """OdooOperations' interface, bound to `customer`."""

    def __init__(self, ops: OdooOperations, customer: CustomerIdentity) -> None:
        self.ops = ops
        self.customer = customer

    # ---- the same for everyone
    def search_products(self, query: str, limit: int = 5) -> dict[str, Any]:
        return self.ops.search_products(query, limit)

    def get_product(self, product_id: int) -> dict[str, Any]:
        return self.ops.get_product(product_id)

    def check_stock(self, product_id: int) -> dict[str, Any]:
        return self.ops.check_stock(product_id)

    # ---- the customer's own
    def _verified(self, what: str) -> CustomerIdentity:
        if not self.customer.verified:
            raise verification_required(what)
        return self.customer

    def _owns(self, partner_id: int | None) -> bool:
        if not partner_id:
            return False
        fields = self.ops.client.existing(PARTNER, PARTNER_FIELDS)
        rows = self.ops.client.search_read(PARTNER, [("id", "=", int(partner_id))], fields, limit=1)
        return bool(rows) and is_contact(self.customer, rows[0])

    def _mine(self) -> list[dict[str, Any]]:
        found: dict[int, dict[str, Any]] = {}
        if self.customer.phone and len(digits(self.customer.phone)) >= 8:
            for row in self.ops.find_customer(phone=self.customer.phone)["customers"]:
                if phone_matches(self.customer.phone, row.get("phone")):
                    found[row["id"]] = row
        if self.customer.email:
            for row in self.ops.find_customer(email=self.customer.email)["customers"]:
                found[row["id"]] = row
        return list(found.values())

    def find_customer(self, phone: str | None = None, email: str | None = None) -> dict[str, Any]:
        customer = self._verified("find_customer")
        phone, email = (phone or "").strip(), (email or "").strip()
        asked_someone_else = (phone and not phone_matches(customer.phone, phone)) or \
            (email and not email_matches(customer.email, email))
        customers = [] if asked_someone_else else self._mine()
        return {"count": len(customers), "customers": customers}

    def get_order_status(self, ref: str) -> dict[str, Any]:
        self._verified("get_order_status")
        try:
            order = self.ops.get_order_status(ref)
        except ApiError as exc:
            if exc.status == 404:
                raise not_found(f"no order {(ref or '').strip()!r}", "ref") from None
            raise
        if not self._owns(order.get("customer_id")):
            raise not_found(f"no order {(ref or '').strip()!r}", "ref")  # the same words as a missing order
        return order

    def create_customer(self, data: CustomerIn) -> dict[str, Any]:
        customer = self._verified("create_customer")
        if (data.email and not email_matches(customer.email, data.email)) or \
                (data.phone and not phone_matches(customer.phone, data.phone)) or not (data.email or data.phone):
            raise ApiError(403, "not_this_customer", "a conversation may only register its own contact's e-mail "
                           "or phone", "email" if data.email else "phone")
        return self.ops.create_customer(data)

    def create_quotation(self, data: QuotationIn) -> dict[str, Any]:
        self._verified("create_quotation")
        if not self._owns(data.customer_id):
            raise not_found(f"no customer with id {data.customer_id}", "customer_id")
        return self.ops.create_quotation(data)
