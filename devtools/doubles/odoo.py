"""An Odoo double for tests and the demo: real XML-RPC (stdlib `xmlrpc.server`) and Odoo 19's JSON-2 on 127.0.0.1.

It serves the demo store catalogue (tests/fixtures/demo_store/products.json) and reproduces what makes Odoo awkward:
`False` for empty fields, many2one as `[id, "name"]`, `product.template` ids that differ from `product.product` ids,
`is_storable` only from Odoo 18 (before: `type == "product"`), `qty_available` only with the stock module, an
"Invalid field" fault for fields that do not exist, and Odoo's fault format (XML-RPC fault codes 1-4 with the
traceback or the user message; JSON-2 error bodies with `name`/`message`/`debug`).

Knobs: `delay_s` (every request waits that long: a slow Odoo), `down` (answers 502 like the proxy in front of a dead
Odoo), `stop()` (connection refused), `calls` (a Counter of (model, method)), `authentications`, `connections`.
Never part of a deployed function.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import xmlrpc.client
from collections import Counter
from collections.abc import Callable
from socketserver import ThreadingMixIn
from typing import Any, ClassVar
from xmlrpc.server import MultiPathXMLRPCServer, SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler

from devtools import DEMO_STORE
from devtools.doubles.stub_server import StubServer, send_body

# Odoo's XML-RPC fault codes (odoo/service/wsgi_server.py).
FAULT_APPLICATION_ERROR = 1
FAULT_WARNING = 2
FAULT_ACCESS_DENIED = 3
FAULT_ACCESS_ERROR = 4

PRODUCT_ID_OFFSET = 100  # product.product ids differ from product.template ids, as in any Odoo with variants
BRL = [6, "BRL"]
UID = 2
INITIAL_WRITE_DATE = "2026-11-01 09:00:00"
# Fields stored on product.template that product.product shows through `_inherits`: writing them on a template
# changes what its variants read, but not the variants' own write_date (as in Odoo).
TEMPLATE_FIELDS = frozenset({"name", "list_price", "description_sale", "categ_id", "sale_ok", "type", "is_storable",
                             "uom_id", "currency_id"})


class OdooException(Exception):
    """An exception raised inside the double's 'ORM', shaped into a fault like Odoo does: its `kind`
    (odoo.exceptions.<Name>), XML-RPC fault code and JSON-2 HTTP status."""

    kind = "builtins.Exception"
    fault_code = FAULT_APPLICATION_ERROR
    http_status = 500

    def __init_subclass__(cls, fault_code: int | None = None, http_status: int | None = None) -> None:
        super().__init_subclass__()
        cls.kind = f"odoo.exceptions.{cls.__name__}"
        cls.fault_code = cls.fault_code if fault_code is None else fault_code
        cls.http_status = cls.http_status if http_status is None else http_status


class UserError(OdooException, fault_code=FAULT_WARNING, http_status=422):
    pass


class ValidationError(UserError):
    pass


class AccessDenied(OdooException, fault_code=FAULT_ACCESS_DENIED, http_status=401):
    pass


class AccessError(OdooException, fault_code=FAULT_ACCESS_ERROR, http_status=403):
    pass


class MissingError(UserError, http_status=404):
    pass


class AppError(OdooException):
    """A programming error (ValueError, KeyError, AttributeError): Odoo sends the formatted traceback."""

    def __init__(self, python_type: str, message: str) -> None:
        super().__init__(message)
        self.python_type = python_type
        self.kind = f"builtins.{python_type}"


def _traceback_text(exc: AppError) -> str:
    return (
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3/dist-packages/odoo/service/wsgi_server.py", line 110, in application\n'
        "    return application_unproxied(environ, start_response)\n"
        '  File "/usr/lib/python3/dist-packages/odoo/models.py", line 3021, in _read_format\n'
        "    raise ValueError(...)\n"
        f"{exc.python_type}: {exc}\n"
    )


def to_fault(exc: OdooException) -> xmlrpc.client.Fault:
    if isinstance(exc, AppError):
        return xmlrpc.client.Fault(FAULT_APPLICATION_ERROR, _traceback_text(exc))
    return xmlrpc.client.Fault(exc.fault_code, str(exc))


# ------------------------------------------------------------------ the data


def _fields(version: int, with_stock: bool) -> dict[str, dict[str, dict[str, Any]]]:
    def f(kind: str, string: str, relation: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": kind, "string": string}
        if relation:
            out["relation"] = relation
        return out

    product_common = {
        "id": f("integer", "ID"),
        "name": f("char", "Name"),
        "display_name": f("char", "Display Name"),
        "default_code": f("char", "Internal Reference"),
        "barcode": f("char", "Barcode"),
        "list_price": f("float", "Sales Price"),
        "currency_id": f("many2one", "Currency", "res.currency"),
        "categ_id": f("many2one", "Product Category", "product.category"),
        "description_sale": f("text", "Sales Description"),
        "type": f("selection", "Product Type"),
        "sale_ok": f("boolean", "Can be Sold"),
        "active": f("boolean", "Active"),
        "uom_id": f("many2one", "Unit", "uom.uom"),
        "write_date": f("datetime", "Last Updated on"),
    }
    if version >= 18:
        product_common["is_storable"] = f("boolean", "Track Inventory")
    if with_stock:
        product_common["qty_available"] = f("float", "Quantity On Hand")
        product_common["virtual_available"] = f("float", "Forecasted Quantity")
    template = dict(product_common)
    template["product_variant_ids"] = f("one2many", "Products", "product.product")
    variant = dict(product_common)
    variant["lst_price"] = f("float", "Sales Price")
    variant["product_tmpl_id"] = f("many2one", "Product Template", "product.template")
    partner = {
        "id": f("integer", "ID"),
        "name": f("char", "Name"),
        "display_name": f("char", "Display Name"),
        "email": f("char", "Email"),
        "phone": f("char", "Phone"),
        "city": f("char", "City"),
        "vat": f("char", "Tax ID"),
        "is_company": f("boolean", "Is a Company"),
        "customer_rank": f("integer", "Customer Rank"),
        "comment": f("html", "Notes"),
        "active": f("boolean", "Active"),
    }
    if version < 18:
        partner["mobile"] = f("char", "Mobile")  # Odoo 18 dropped res.partner.mobile
    order = {
        "id": f("integer", "ID"),
        "name": f("char", "Order Reference"),
        "partner_id": f("many2one", "Customer", "res.partner"),
        "state": f("selection", "Status"),
        "date_order": f("datetime", "Order Date"),
        "amount_untaxed": f("monetary", "Untaxed Amount"),
        "amount_total": f("monetary", "Total"),
        "currency_id": f("many2one", "Currency", "res.currency"),
        "invoice_status": f("selection", "Invoice Status"),
        "order_line": f("one2many", "Order Lines", "sale.order.line"),
        "note": f("html", "Terms and conditions"),
        "client_order_ref": f("char", "Customer Reference"),
    }
    line = {
        "id": f("integer", "ID"),
        "order_id": f("many2one", "Order Reference", "sale.order"),
        "product_id": f("many2one", "Product", "product.product"),
        "name": f("text", "Description"),
        "product_uom_qty": f("float", "Quantity"),
        "price_unit": f("float", "Unit Price"),
        "price_subtotal": f("monetary", "Subtotal"),
    }
    category = {
        "id": f("integer", "ID"),
        "name": f("char", "Name"),
        "complete_name": f("char", "Complete Name"),
        "parent_id": f("many2one", "Parent Category", "product.category"),
    }
    article = {  # Knowledge (enterprise); any model with a text field looks the same to the sync
        "id": f("integer", "ID"),
        "name": f("char", "Title"),
        "body": f("html", "Body"),
        "is_published": f("boolean", "Is Published"),
        "active": f("boolean", "Active"),
        "write_date": f("datetime", "Last Updated on"),
    }
    return {
        "knowledge.article": article,
        "product.template": template,
        "product.product": variant,
        "product.category": category,
        "res.partner": partner,
        "sale.order": order,
        "sale.order.line": line,
    }


def _load_store(version: int, with_stock: bool) -> dict[str, dict[int, dict[str, Any]]]:
    raw = json.loads((DEMO_STORE / "products.json").read_text(encoding="utf-8"))
    categories: dict[int, dict[str, Any]] = {}
    by_name: dict[str, dict[str, Any]] = {}
    for cat in raw["categories"]:
        categories[cat["id"]] = {"id": cat["id"], "name": cat["name"], "parent_id": False}
        by_name[cat["name"]] = categories[cat["id"]]
    for cat in raw["categories"]:
        if cat["parent_id"]:
            parent = categories[cat["parent_id"]]
            categories[cat["id"]]["parent_id"] = [parent["id"], parent["name"]]
    for cat in categories.values():
        parent_name = cat["parent_id"][1] if cat["parent_id"] else None
        cat["complete_name"] = f"{parent_name} / {cat['name']}" if parent_name else cat["name"]
        cat["display_name"] = cat["complete_name"]

    templates: dict[int, dict[str, Any]] = {}
    variants: dict[int, dict[str, Any]] = {}
    for item in raw["products"]:
        storable = item.get("stock_qty") is not None
        cat = by_name.get(item.get("category") or "")
        record: dict[str, Any] = {
            "name": item["name"],
            "display_name": f"[{item['sku']}] {item['name']}" if item.get("sku") else item["name"],
            "default_code": item.get("sku") or False,
            "barcode": False,
            "list_price": float(item["price"]),
            "currency_id": BRL,
            "categ_id": [cat["id"], cat["complete_name"]] if cat else False,
            "description_sale": item.get("description") or False,
            "sale_ok": True,
            "active": bool(item.get("active", True)),
            "uom_id": [1, "Unidades"],
            "write_date": INITIAL_WRITE_DATE,
        }
        if version >= 18:
            record["type"] = "consu"
            record["is_storable"] = storable
        else:
            record["type"] = "product" if storable else "consu"
        if with_stock:
            record["qty_available"] = float(item["stock_qty"] or 0.0)
            record["virtual_available"] = record["qty_available"]
        tmpl_id = item["id"]
        pid = tmpl_id + PRODUCT_ID_OFFSET
        templates[tmpl_id] = {"id": tmpl_id, **record, "product_variant_ids": [pid]}
        variants[pid] = {"id": pid, **record, "lst_price": record["list_price"],
                         "product_tmpl_id": [tmpl_id, item["name"]]}

    partners: dict[int, dict[str, Any]] = {
        1: {"id": 1, "name": "Sandra Cosméticos", "email": "contato@sandracosmeticos.com.br",
            "phone": "+55 11 3333-4444", "city": "São Paulo", "vat": "12.345.678/0001-90", "is_company": True,
            "customer_rank": 0, "comment": False, "active": True},
        7: {"id": 7, "name": "Maria da Silva", "email": "maria.silva@example.com.br", "phone": "+55 11 98765-4321",
            "city": "São Paulo", "vat": False, "is_company": False, "customer_rank": 3, "comment": False,
            "active": True},
        8: {"id": 8, "name": "João Pereira", "email": False, "phone": "(21) 99876-5432", "city": "Rio de Janeiro",
            "vat": False, "is_company": False, "customer_rank": 1, "comment": False, "active": True},
    }
    for partner in partners.values():
        partner["display_name"] = partner["name"]
        if version < 18:
            partner["mobile"] = False
    policies = json.loads((DEMO_STORE / "policy_documents.json").read_text(encoding="utf-8"))["documents"]
    articles = {int(doc["id"]): {"id": int(doc["id"]), "name": doc["name"], "is_published": True, "active": True,
                                 "body": "".join(f"<p>{line}</p>" for line in doc["rule_text"].split("\n") if line),
                                 "write_date": INITIAL_WRITE_DATE} for doc in policies}
    store: dict[str, dict[int, dict[str, Any]]] = {
        "knowledge.article": articles,
        "product.category": categories,
        "product.template": templates,
        "product.product": variants,
        "res.partner": partners,
        "sale.order": {},
        "sale.order.line": {},
    }
    return store


# ------------------------------------------------------------------ domains


def _leaf_matches(record: dict[str, Any], leaf: list[Any] | tuple[Any, ...]) -> bool:
    field, op, value = leaf
    have = record.get(field, False)
    if isinstance(have, list) and len(have) == 2 and isinstance(have[0], int):
        have = have[0]  # many2one compares by id
    if op == "=":
        return bool(have == value)
    if op == "!=":
        return bool(have != value)
    if op in ("ilike", "not ilike", "like", "=ilike", "=like"):
        text = "" if have is False or have is None else str(have)
        pattern = str(value)
        if op in ("ilike", "not ilike", "=ilike"):
            text, pattern = text.lower(), pattern.lower()
        if op.startswith("="):
            regex = "^" + re.escape(pattern).replace("%", ".*").replace("_", ".") + "$"
            return re.match(regex, text, re.DOTALL) is not None
        found = pattern in text
        return not found if op == "not ilike" else found
    if op == "in":
        return have in value
    if op == "not in":
        return have not in value
    if op in (">", "<", ">=", "<="):
        if have is False:
            return False
        return bool({">": have > value, "<": have < value, ">=": have >= value, "<=": have <= value}[op])
    raise AppError("ValueError", f"Invalid leaf {leaf!r}")


def _match(record: dict[str, Any], domain: list[Any]) -> bool:
    """Odoo's prefix-notation domain, with the implicit '&' between consecutive terms."""
    stack: list[bool] = []
    for term in reversed(domain):
        if term == "&":
            a, b = stack.pop(), stack.pop()  # both popped: `pop() and pop()` left the second on the stack
            stack.append(a and b)
        elif term == "|":
            a, b = stack.pop(), stack.pop()
            stack.append(a or b)
        elif term == "!":
            stack.append(not stack.pop())
        else:
            stack.append(_leaf_matches(record, term))
    return all(stack)


# ------------------------------------------------------------------ the double


class _Server(ThreadingMixIn, MultiPathXMLRPCServer):
    daemon_threads = True
    allow_reuse_address = True


class OdooDouble(StubServer):
    """A small Odoo on 127.0.0.1: `with OdooDouble() as odoo: odoo.url ...`."""

    def __init__(self, *, version: int = 17, with_stock: bool = True, db: str = "demo",
                 username: str = "bot@example.com", api_key: str = "odoo-key-0123456789") -> None:
        self.version = version
        self.with_stock = with_stock
        self.db = db
        self.username = username
        self.api_key = api_key
        self.delay_s = 0.0
        self.down = False
        self.calls: Counter[tuple[str, str]] = Counter()
        self.authentications = 0
        self.connections = 0
        self.fields = _fields(version, with_stock)
        self.records = _load_store(version, with_stock)
        self._lock = threading.RLock()
        self._release = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._writes = 0
        self._seed_orders()

    # ---- lifecycle

    thread_name = "odoo-double"

    def make_server(self) -> _Server:
        double = self

        class Handler(SimpleXMLRPCRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like Odoo behind a proxy
            rpc_paths = ("/xmlrpc/2/common", "/xmlrpc/2/object")

            def setup(self) -> None:
                super().setup()
                with double._lock:
                    double.connections += 1
                    double._sockets.add(self.connection)

            def finish(self) -> None:
                with double._lock:
                    double._sockets.discard(self.connection)
                super().finish()

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                if double.delay_s:
                    double._release.wait(double.delay_s)
                if double.down:
                    send_body(self, 502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
                    return
                if self.path.startswith("/json/2/"):
                    double._json2(self)
                    return
                super().do_POST()

        server = _Server(("127.0.0.1", self.port), requestHandler=Handler, logRequests=False, allow_none=True)
        common = SimpleXMLRPCDispatcher(allow_none=True)
        common.register_function(self._version, "version")
        common.register_function(self._authenticate, "authenticate")  # type: ignore[arg-type]
        common.register_function(self._login, "login")  # type: ignore[arg-type]
        obj = SimpleXMLRPCDispatcher(allow_none=True)
        obj.register_function(self._execute_kw, "execute_kw")  # type: ignore[arg-type]
        server.add_dispatcher("/xmlrpc/2/common", common)
        server.add_dispatcher("/xmlrpc/2/object", obj)
        self._release.clear()
        return server

    def stop(self) -> None:
        """Stop listening: callers now get 'connection refused'. `start()` again reuses the port."""
        self._release.set()  # free requests stuck in delay_s
        super().stop()
        with self._lock:
            open_sockets, self._sockets = list(self._sockets), set()
        for sock in open_sockets:  # a stopped Odoo also drops its keep-alive connections
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def reset_counters(self) -> None:
        with self._lock:
            self.calls.clear()
            self.authentications = 0
            self.connections = 0

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    # ---- changes made "in Odoo" by a test (a user editing a product, an automation rule firing)

    def _now(self) -> str:
        """Odoo's write_date: seconds, UTC, 'YYYY-MM-DD HH:MM:SS'. The double's clock moves one second per write, so
        every change is later than the one before it whatever the real clock says."""
        from datetime import datetime, timedelta

        self._writes += 1
        start = datetime.strptime(INITIAL_WRITE_DATE, "%Y-%m-%d %H:%M:%S")
        return (start + timedelta(seconds=self._writes)).strftime("%Y-%m-%d %H:%M:%S")

    def write(self, model: str, record_id: int, vals: dict[str, Any]) -> str:
        """`record.write(vals)`: sets write_date; a template's own fields also show on its variants (whose
        write_date does not move, as in Odoo). Returns the new write_date."""
        with self._lock:
            record = self.records[model][record_id]
            stamp = self._now()
            record.update(vals)
            record["write_date"] = stamp
            if model == "product.template":
                for variant in self.records["product.product"].values():
                    if variant["product_tmpl_id"][0] == record_id:
                        shared = {k: v for k, v in vals.items() if k in TEMPLATE_FIELDS}
                        variant.update(shared)
                        if "list_price" in shared:
                            variant["lst_price"] = shared["list_price"]
                        if "name" in shared:
                            variant["product_tmpl_id"] = [record_id, shared["name"]]
                if "active" in vals:  # archiving a template archives its variants
                    for variant_id in record.get("product_variant_ids", []):
                        self.records["product.product"][variant_id]["active"] = vals["active"]
                        self.records["product.product"][variant_id]["write_date"] = stamp
            return stamp

    def unlink(self, model: str, record_id: int) -> None:
        """`record.unlink()`: gone, with a template's variants."""
        with self._lock:
            record = self.records[model].pop(record_id)
            if model == "product.template":
                for variant_id in record.get("product_variant_ids", []):
                    self.records["product.product"].pop(variant_id, None)

    def webhook_payload(self, model: str, record_id: int, fields: list[str], action: str = "Send Webhook "
                        "Notification", action_id: int = 42) -> bytes:
        """The body Odoo's "Send Webhook Notification" server action POSTs for this record (odoo/addons/base/models/
        ir_actions.py, `_run_action_webhook`, 17.0-19.0): `_model`, `_id`, `_action` = "<action name>(#<id>)", then
        `record.read(fields, load=None)[0]` (many2one as a bare id, x2many as id lists, False for empty), serialised
        with `json.dumps(vals, sort_keys=True, default=str)`."""
        with self._lock:
            names = self._check_fields(model, fields)
            row = self._shape(model, self.records[model][record_id], names)
        for name, value in row.items():
            if isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and isinstance(value[1], str):
                row[name] = value[0]  # load=None: many2one without its display name
        vals = {"_model": model, "_id": record_id, "_action": f"{action}(#{action_id})", **row}
        return json.dumps(vals, sort_keys=True, default=str).encode()

    # ---- XML-RPC endpoints

    def _version(self) -> dict[str, Any]:
        return {"server_version": f"{self.version}.0", "server_version_info": [self.version, 0, 0, "final", 0, ""],
                "server_serie": f"{self.version}.0", "protocol_version": 1}

    def _authenticate(self, db: str, login: str, password: str, user_agent_env: dict[str, Any]) -> int | bool:
        with self._lock:
            self.authentications += 1
        if db != self.db:
            raise to_fault(AppError("psycopg2.OperationalError",
                                    f'connection to server failed: FATAL:  database "{db}" does not exist'))
        return UID if login == self.username and password == self.api_key else False

    def _login(self, db: str, login: str, password: str) -> int | bool:
        return self._authenticate(db, login, password, {})

    def _execute_kw(self, db: str, uid: int, password: str, model: str, method: str,
                    args: list[Any] | None = None, kwargs: dict[str, Any] | None = None) -> Any:
        try:
            if db != self.db or uid != UID or password != self.api_key:
                raise AccessDenied("Access Denied")
            return self.call(model, method, list(args or []), dict(kwargs or {}))
        except OdooException as exc:
            raise to_fault(exc) from None

    # ---- JSON-2 (Odoo 19): POST /json/2/<model>/<method>, named arguments, bearer API key

    _JSON2_POSITIONAL: ClassVar[dict[str, list[str]]] = {
        "search_read": ["domain"], "search": ["domain"], "search_count": ["domain"], "read": ["ids"],
        "create": ["vals_list"], "fields_get": []}

    def _json2(self, handler: SimpleXMLRPCRequestHandler) -> None:
        def answer(status: int, payload: Any) -> None:
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            send_body(handler, status, body, "application/json; charset=utf-8")

        def error(exc: OdooException) -> None:
            debug = _traceback_text(exc) if isinstance(exc, AppError) else f"{exc.kind}: {exc}"
            answer(exc.http_status, {"name": exc.kind, "message": str(exc), "arguments": [str(exc)],
                                     "context": {}, "debug": debug})

        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b"{}"
        auth = handler.headers.get("Authorization") or ""
        if auth.lower() != f"bearer {self.api_key}".lower() or not auth:
            error(AccessDenied("Invalid apikey"))
            return
        if (handler.headers.get("X-Odoo-Database") or self.db) != self.db:
            error(AccessDenied("Invalid database"))
            return
        parts = handler.path.split("?")[0].split("/")
        if len(parts) != 5:
            answer(404, {"name": "werkzeug.exceptions.NotFound", "message": "Not Found"})
            return
        model, method = parts[3], parts[4]
        try:
            named = json.loads(raw or b"{}")
            named.pop("context", None)
            positional = [named.pop(name) for name in self._JSON2_POSITIONAL.get(method, []) if name in named]
            if method == "create":
                vals_list = positional[0] if positional else []
                result: Any = [self.call(model, "create", [vals], {}) for vals in vals_list]
            else:
                result = self.call(model, method, positional, named)
        except OdooException as exc:
            error(exc)
            return
        answer(200, result)

    # ---- the 'ORM'

    def call(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        with self._lock:
            self.calls[(model, method)] += 1
            if model not in self.records:
                raise AppError("KeyError", repr(model))
            handlers: dict[str, Callable[..., Any]] = {
                "search_read": self._search_read, "read": self._read, "search": self._search,
                "search_count": self._search_count, "create": self._create, "fields_get": self._fields_get,
            }
            handler = handlers.get(method)
            if handler is None:
                raise AppError("AttributeError", f"The method '{model}.{method}' does not exist")
            return handler(model, *args, **kwargs)

    def _check_fields(self, model: str, fields: list[str] | None) -> list[str]:
        known = self.fields[model]
        for name in fields or []:
            if name not in known:
                raise AppError("ValueError", f"Invalid field {name!r} on model {model!r}")
        return list(fields) if fields else list(known)

    def _check_domain(self, model: str, domain: list[Any]) -> None:
        for term in domain:
            if isinstance(term, list | tuple) and term[0] not in self.fields[model]:
                raise AppError("ValueError", f"Invalid field {model}.{term[0]} in leaf {tuple(term)!r}")

    def _select(self, model: str, domain: list[Any], offset: int = 0, limit: int | None = None,
                order: str | None = None) -> list[dict[str, Any]]:
        self._check_domain(model, domain)
        with_active = "active" in self.fields[model] and not any(
            isinstance(t, list | tuple) and t[0] == "active" for t in domain)
        rows = [r for r in self.records[model].values()
                if _match(r, domain) and (not with_active or r.get("active", True))]
        rows.sort(key=lambda r: r["id"])
        if order:
            name, _, direction = order.partition(" ")
            rows.sort(key=lambda r: (r.get(name) is False, r.get(name)), reverse=direction.lower() == "desc")
        rows = rows[offset:]
        return rows[:limit] if limit else rows

    def _search_read(self, model: str, domain: list[Any] | None = None, fields: list[str] | None = None,
                     offset: int = 0, limit: int | None = None, order: str | None = None) -> list[dict[str, Any]]:
        names = self._check_fields(model, fields)
        rows = self._select(model, domain or [], offset, limit, order)
        return [self._shape(model, r, names) for r in rows]

    def _search(self, model: str, domain: list[Any] | None = None, offset: int = 0, limit: int | None = None,
                order: str | None = None) -> list[int]:
        return [r["id"] for r in self._select(model, domain or [], offset, limit, order)]

    def _search_count(self, model: str, domain: list[Any] | None = None) -> int:
        return len(self._select(model, domain or []))

    def _read(self, model: str, ids: list[int] | int, fields: list[str] | None = None) -> list[dict[str, Any]]:
        names = self._check_fields(model, fields)
        wanted = [ids] if isinstance(ids, int) else list(ids)
        missing = [i for i in wanted if i not in self.records[model]]
        if missing:
            raise MissingError("Record does not exist or has been deleted.\n"
                               f"(Record: {model}({missing[0]},), User: {UID})")
        return [self._shape(model, self.records[model][i], names) for i in wanted]

    def _fields_get(self, model: str, allfields: list[str] | None = None,
                    attributes: list[str] | None = None) -> dict[str, Any]:
        out = {}
        for name, spec in self.fields[model].items():
            if allfields and name not in allfields:
                continue
            out[name] = {k: v for k, v in spec.items() if not attributes or k in attributes}
        return out

    def _shape(self, model: str, record: dict[str, Any], names: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": record["id"]}
        for name in names:
            value = record.get(name, False)
            if value is None:
                value = False  # Odoo never sends null: empty is False
            out[name] = value
        return out

    def _create(self, model: str, vals: dict[str, Any]) -> int:
        creator = {"res.partner": self._create_partner, "sale.order": self._create_order}.get(model)
        if creator is None:
            raise AccessError(f"You are not allowed to create '{model}' records.")
        for name in vals:
            if name not in self.fields[model]:
                raise AppError("ValueError", f"Invalid field {name!r} on model {model!r}")
        return creator(vals)

    def _next_id(self, model: str) -> int:
        return max(self.records[model], default=0) + 1

    def _m2o(self, model: str, record_id: Any, field: str) -> list[Any]:
        if not isinstance(record_id, int) or record_id not in self.records[model]:
            raise MissingError(f"Record does not exist or has been deleted.\n(Record: {model}({record_id},), "
                               f"User: {UID}) [field {field}]")
        record = self.records[model][record_id]
        return [record_id, record.get("display_name") or record["name"]]

    def _create_partner(self, vals: dict[str, Any]) -> int:
        if not str(vals.get("name") or "").strip():
            raise ValidationError("Contacts require a name")
        new_id = self._next_id("res.partner")
        record: dict[str, Any] = {name: False for name in self.fields["res.partner"]}
        record.update({"active": True, "is_company": False, "customer_rank": 0, **vals, "id": new_id})
        record["display_name"] = record["name"]
        self.records["res.partner"][new_id] = record
        return new_id

    def _create_order(self, vals: dict[str, Any]) -> int:
        partner = self._m2o("res.partner", vals.get("partner_id"), "partner_id")
        new_id = self._next_id("sale.order")
        order: dict[str, Any] = {name: False for name in self.fields["sale.order"]}
        order.update({"id": new_id, "name": f"S{new_id:05d}", "partner_id": partner, "state": "draft",
                      "date_order": "2026-11-25 12:00:00", "currency_id": BRL, "invoice_status": "no",
                      "note": vals.get("note") or False, "client_order_ref": vals.get("client_order_ref") or False,
                      "order_line": []})
        lines = []
        for command in vals.get("order_line") or []:
            if not (isinstance(command, list | tuple) and len(command) == 3 and command[0] == 0):
                raise AppError("ValueError", f"Wrong value for sale.order.order_line: {command!r}")
            line_vals = command[2]
            product = self._m2o("product.product", line_vals.get("product_id"), "product_id")
            qty = float(line_vals.get("product_uom_qty", 1.0))
            if qty <= 0:
                raise ValidationError("The quantity of a sale order line must be positive.")
            price = float(line_vals.get("price_unit", self.records["product.product"][product[0]]["lst_price"]))
            lines.append((product, qty, price))
        self.records["sale.order"][new_id] = order
        for product, qty, price in lines:
            line_id = self._next_id("sale.order.line")
            self.records["sale.order.line"][line_id] = {
                "id": line_id, "order_id": [new_id, order["name"]], "product_id": product,
                "name": product[1], "product_uom_qty": qty, "price_unit": price,
                "price_subtotal": round(qty * price, 2)}
            order["order_line"].append(line_id)
        order["amount_untaxed"] = round(sum(q * p for _, q, p in lines), 2)
        order["amount_total"] = order["amount_untaxed"]
        order["display_name"] = order["name"]
        return new_id

    def _seed_orders(self) -> None:
        first = self._create_order({"partner_id": 7, "order_line": [
            [0, 0, {"product_id": 7 + PRODUCT_ID_OFFSET, "product_uom_qty": 1}],
            [0, 0, {"product_id": 10 + PRODUCT_ID_OFFSET, "product_uom_qty": 2}]]})
        self.records["sale.order"][first].update({"state": "sale", "invoice_status": "invoiced",
                                                   "date_order": "2026-11-20 14:30:00"})
        self._create_order({"partner_id": 8, "order_line": [
            [0, 0, {"product_id": 1 + PRODUCT_ID_OFFSET, "product_uom_qty": 3}]]})
