"""The Odoo client and operations against the Odoo double (real XML-RPC / JSON-2 on 127.0.0.1)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from chatwoot_ai.errors import ApiError
from chatwoot_ai.odoo import (
    ConnectionPool,
    CustomerIn,
    OdooClient,
    OdooOperations,
    OdooTarget,
    QuotationIn,
    TtlCache,
)
from chatwoot_ai.odoo.faults import fault_message
from devtools.doubles.odoo import PRODUCT_ID_OFFSET, OdooDouble

VARIANTS = [(17, True, "xmlrpc"), (18, False, "xmlrpc"), (18, True, "xmlrpc"), (19, True, "json2")]


@pytest.fixture
def odoo() -> Iterator[OdooDouble]:
    with OdooDouble() as double:
        yield double


def target(double: OdooDouble, **overrides: Any) -> OdooTarget:
    values: dict[str, Any] = {"url": double.url, "db": double.db, "username": double.username,
                              "api_key": double.api_key, "protocol": "xmlrpc", "timeout_s": 5.0}
    values.update(overrides)
    return OdooTarget(**values)


def ops(double: OdooDouble, *, allow_write: bool = False, pool: ConnectionPool | None = None,
        cache: TtlCache | None = None, ttl: float = 30.0, **overrides: Any) -> OdooOperations:
    client = OdooClient(target(double, **overrides), allow_write=allow_write, pool=pool or ConnectionPool())
    return OdooOperations(client, cache=cache or TtlCache(), cache_ttl_s=ttl, stock_ttl_s=ttl)


def no_false(value: Any) -> bool:
    """Odoo's False-for-empty must not leak into results (real booleans are fine)."""
    if isinstance(value, dict):
        return all(no_false(v) for k, v in value.items() if k not in ("in_stock", "tracked", "created"))
    if isinstance(value, list):
        return all(no_false(v) for v in value)
    return value is not False


@pytest.mark.parametrize(("version", "with_stock", "protocol"), VARIANTS)
def test_products_are_variants_with_clean_values_on_every_odoo(version: int, with_stock: bool, protocol: str) -> None:
    with OdooDouble(version=version, with_stock=with_stock) as double:
        o = ops(double, protocol=protocol)
        found = o.search_products("protetor solar", limit=5)
        names = [p["name"] for p in found["products"]]
        assert "Protetor Solar Facial FPS 50" in names
        fps50 = next(p for p in found["products"] if p["name"] == "Protetor Solar Facial FPS 50")
        # product.product id (what an order line needs), not the template id 10
        assert fps50["id"] == 10 + PRODUCT_ID_OFFSET
        assert fps50["price"] == 89.9 and fps50["currency"] == "BRL"
        assert fps50["category"] == "Rosto / Proteção Solar Facial"
        detail = o.get_product(fps50["id"])
        assert detail["template_id"] == 10 and detail["sku"] == "PROT-50-001"
        assert detail["barcode"] is None  # False in Odoo
        assert no_false(found) and no_false(detail)


@pytest.mark.parametrize(("version", "with_stock", "protocol"), VARIANTS)
def test_stock_only_when_odoo_tracks_it(version: int, with_stock: bool, protocol: str) -> None:
    with OdooDouble(version=version, with_stock=with_stock) as double:
        o = ops(double, protocol=protocol)
        storable = o.check_stock(1 + PRODUCT_ID_OFFSET)  # Gel de Limpeza: 25 in stock
        consumable = o.check_stock(13 + PRODUCT_ID_OFFSET)  # Máscara de Argila: not tracked
        if with_stock:
            assert storable["tracked"] is True and storable["qty_available"] == 25.0 and storable["in_stock"] is True
        else:
            assert storable["tracked"] is False and storable["in_stock"] is None
            assert "stock module" in storable["note"]
        assert consumable["tracked"] is False and consumable["qty_available"] is None


def test_description_words_find_products_when_names_do_not(odoo: OdooDouble) -> None:
    found = ops(odoo).search_products("niacinamida zinco")  # only in the sales description
    assert [p["sku"] for p in found["products"]] == ["GEL-HID-002"]
    assert ops(odoo).search_products("xyzzy inexistente")["count"] == 0


@pytest.mark.parametrize("phone", ["11987654321", "+55 (11) 98765-4321", "98765-4321", "5511987654321"])
def test_customer_by_phone_in_any_format(odoo: OdooDouble, phone: str) -> None:
    found = ops(odoo).find_customer(phone=phone)
    assert [c["name"] for c in found["customers"]] == ["Maria da Silva"]


def test_customer_by_email_and_empty_fields_are_null(odoo: OdooDouble) -> None:
    assert ops(odoo).find_customer(email="MARIA.SILVA@example.com.br")["customers"][0]["id"] == 7
    joao = ops(odoo).find_customer(phone="(21) 99876-5432")["customers"][0]
    assert joao["email"] is None  # False in Odoo
    with pytest.raises(ApiError) as err:
        ops(odoo).find_customer(phone="123", email=None)
    assert err.value.status == 400 and err.value.field == "phone"
    with pytest.raises(ApiError) as err:
        ops(odoo).find_customer()
    assert err.value.status == 400


def test_writes_refused_without_permission_before_reaching_odoo(odoo: OdooDouble) -> None:
    o = ops(odoo, allow_write=False)
    with pytest.raises(ApiError) as err:
        o.create_customer(CustomerIn(name="Ana Souza"))
    assert err.value.status == 403 and err.value.code == "write_disabled"
    with pytest.raises(ApiError) as err:
        o.create_quotation(QuotationIn(customer_id=7, lines=[{"product_id": 101, "quantity": 1}]))  # type: ignore[list-item]
    assert err.value.code == "write_disabled"
    with pytest.raises(ApiError):
        o.client.create("res.partner", {"name": "x"})
    assert not any(method == "create" for _model, method in odoo.calls)


def test_allow_list_blocks_anything_else(odoo: OdooDouble) -> None:
    client = OdooClient(target(odoo), allow_write=True, pool=ConnectionPool())
    for model, method in (("res.users", "search_read"), ("product.product", "unlink"), ("res.partner", "write")):
        with pytest.raises(ApiError) as err:
            client._execute(model, method, [[]], {})
        assert err.value.code == "odoo_call_not_allowed"
    assert odoo.total_calls == 0


@pytest.mark.parametrize("protocol", ["xmlrpc", "json2"])
def test_quotation_round_trip(protocol: str) -> None:
    with OdooDouble(version=19 if protocol == "json2" else 17) as double:
        o = ops(double, allow_write=True, protocol=protocol)
        customer = o.create_customer(CustomerIn(name="Ana Souza", email="ana.souza@example.com.br",
                                                phone="+55 31 91234-5678"))
        assert customer["created"] is True
        again = o.create_customer(CustomerIn(name="Ana Souza", email="ana.souza@example.com.br"))
        assert again == {"created": False, "customer": {**customer["customer"], "city": None}}
        quote = o.create_quotation(QuotationIn.model_validate(
            {"customer_id": customer["customer"]["id"], "lines": [{"product_id": 107, "quantity": 2},
                                                                   {"product_id": 110, "quantity": 1}]}))
        assert quote["state"] == "draft" and quote["status"] == "Orçamento"
        assert quote["total"] == pytest.approx(2 * 129.9 + 89.9)
        status = o.get_order_status(quote["ref"])
        assert status["customer"] == "Ana Souza" and [line["product_id"] for line in status["lines"]] == [107, 110]
        with pytest.raises(ApiError) as err:
            o.create_quotation(QuotationIn.model_validate(
                {"customer_id": 7, "lines": [{"product_id": 107}, {"product_id": 999}]}))
        assert err.value.status == 404 and err.value.field == "lines.1.product_id"
        with pytest.raises(ApiError) as err:
            o.get_order_status("S99999")
        assert err.value.status == 404


def test_seeded_order_status(odoo: OdooDouble) -> None:
    status = ops(odoo).get_order_status("S00001")
    assert status["state"] == "sale" and status["status"] == "Pedido confirmado"
    assert status["customer"] == "Maria da Silva" and status["total"] == pytest.approx(309.7)


# ------------------------------------------------------------------ faults, outages, timeouts


def test_odoo_fault_message_without_traceback(odoo: OdooDouble) -> None:
    client = OdooClient(target(odoo), pool=ConnectionPool())
    with pytest.raises(ApiError) as err:
        client.search_read("product.product", [], ["name", "no_such_field"])
    assert err.value.status == 502 and err.value.code == "odoo_error"
    assert err.value.message == "Odoo: ValueError: Invalid field 'no_such_field' on model 'product.product'"
    client = OdooClient(target(odoo), allow_write=True, pool=ConnectionPool())
    with pytest.raises(ApiError) as err:
        client.create("res.partner", {"name": " "})
    assert err.value.message == "Odoo: Contacts require a name"


def test_fault_message_shapes() -> None:
    assert fault_message("Access Denied") == "Access Denied"
    assert fault_message("Traceback (most recent call last):\n  File x\nKeyError: 'foo'\n") == "KeyError: 'foo'"


@pytest.mark.parametrize("protocol", ["xmlrpc", "json2"])
def test_wrong_credentials_are_a_clear_502(odoo: OdooDouble, protocol: str) -> None:
    with pytest.raises(ApiError) as err:
        ops(odoo, protocol=protocol, api_key="wrong-key").search_products("gel")
    assert err.value.status == 502
    assert err.value.code == ("odoo_auth_failed" if protocol == "xmlrpc" else "odoo_access_denied")
    assert "wrong-key" not in err.value.message


def test_wrong_database_is_a_502_with_odoo_message(odoo: OdooDouble) -> None:
    with pytest.raises(ApiError) as err:
        ops(odoo, db="nope").search_products("gel")
    assert err.value.status == 502 and 'database "nope" does not exist' in err.value.message


@pytest.mark.parametrize("protocol", ["xmlrpc", "json2"])
def test_slow_odoo_is_a_504_without_waiting_for_it(odoo: OdooDouble, protocol: str) -> None:
    odoo.delay_s = 30
    started = time.monotonic()
    with pytest.raises(ApiError) as err:
        ops(odoo, protocol=protocol, timeout_s=0.5).search_products("gel")
    assert err.value.status == 504 and err.value.code == "odoo_timeout"
    assert time.monotonic() - started < 10  # gave up long before Odoo would have answered


@pytest.mark.parametrize("protocol", ["xmlrpc", "json2"])
def test_odoo_down_is_a_502(odoo: OdooDouble, protocol: str) -> None:
    odoo.down = True  # the proxy in front of a dead Odoo answers 502
    with pytest.raises(ApiError) as err:
        ops(odoo, protocol=protocol).search_products("gel")
    assert err.value.status == 502 and err.value.code == "odoo_unreachable"
    odoo.down = False
    odoo.stop()  # nothing listens any more
    with pytest.raises(ApiError) as err:
        ops(odoo, protocol=protocol).search_products("gel")
    assert err.value.status == 502 and err.value.code == "odoo_unreachable"


def test_a_deadline_covers_the_whole_operation(odoo: OdooDouble) -> None:
    now = [0.0]
    client = OdooClient(target(odoo, timeout_s=1.0), pool=ConnectionPool(), clock=lambda: now[0])
    client.fields("product.product")
    now[0] = 1.5  # the operation already used its time
    with pytest.raises(ApiError) as err:
        client.search_read("product.product", [], ["name"])
    assert err.value.status == 504


# ------------------------------------------------------------------ reuse and cache


def test_one_login_and_one_connection_across_operations(odoo: OdooDouble) -> None:
    pool = ConnectionPool()
    for _ in range(5):
        o = ops(odoo, pool=pool, ttl=0)
        o.search_products("gel")
        o.find_customer(email="maria.silva@example.com.br")
    assert odoo.authentications == 1
    assert odoo.connections == 1 and pool.opened == 1
    assert odoo.calls[("product.product", "fields_get")] == 1  # field discovery once per warm instance


def test_a_broken_connection_is_replaced(odoo: OdooDouble) -> None:
    pool = ConnectionPool()
    ops(odoo, pool=pool, ttl=0).search_products("gel")
    odoo.stop()
    with pytest.raises(ApiError):
        ops(odoo, pool=pool, ttl=0).search_products("gel")
    odoo.start()  # same port
    assert ops(odoo, pool=pool, ttl=0).search_products("gel")["count"] > 0
    assert pool.opened == 2


def test_new_credentials_get_a_new_login(odoo: OdooDouble) -> None:
    pool = ConnectionPool()
    ops(odoo, pool=pool).search_products("gel")
    with pytest.raises(ApiError):
        ops(odoo, pool=pool, api_key="rotated-but-wrong").search_products("gel")
    assert odoo.authentications == 2


def test_read_cache_serves_repeats_and_never_mixes_tenants(odoo: OdooDouble) -> None:
    pool, cache = ConnectionPool(), TtlCache()
    first = ops(odoo, pool=pool, cache=cache).search_products("sérum")
    again = ops(odoo, pool=pool, cache=cache).search_products("  SÉRUM ")
    assert first["products"] == again["products"]
    assert odoo.calls[("product.product", "search_read")] == 1
    with OdooDouble(db="other") as other:
        theirs = ops(other, pool=pool, cache=cache).search_products("sérum")
        assert theirs["products"] == first["products"]
        assert other.calls[("product.product", "search_read")] == 1  # its own Odoo was asked
    ops(odoo, pool=pool, cache=TtlCache(), ttl=0).search_products("sérum")
    ops(odoo, pool=pool, cache=TtlCache(), ttl=0).search_products("sérum")
    assert odoo.calls[("product.product", "search_read")] == 3


def test_cache_expires_and_does_not_keep_errors() -> None:
    now = [0.0]
    cache = TtlCache(clock=lambda: now[0])
    calls: list[int] = []

    def load() -> int:
        calls.append(1)
        return len(calls)

    assert cache.get_or_load("k", 10, load) == 1
    assert cache.get_or_load("k", 10, load) == 1
    now[0] = 11
    assert cache.get_or_load("k", 10, load) == 2

    def boom() -> int:
        raise ApiError(504, "odoo_timeout", "slow")

    with pytest.raises(ApiError):
        cache.get_or_load("e", 10, boom)
    assert cache.get_or_load("e", 10, load) == 3


def test_field_lists_are_asked_again_after_a_while(odoo: OdooDouble) -> None:
    now = [0.0]
    pool = ConnectionPool()

    def client() -> OdooClient:
        return OdooClient(target(odoo, timeout_s=5.0), pool=pool, clock=lambda: now[0])

    assert "qty_available" in client().fields("product.product")
    client().fields("product.product")
    assert odoo.calls[("product.product", "fields_get")] == 1
    now[0] = 601.0  # e.g. the stock module was uninstalled meanwhile
    del odoo.fields["product.product"]["qty_available"]
    assert "qty_available" not in client().fields("product.product")
    assert odoo.calls[("product.product", "fields_get")] == 2
