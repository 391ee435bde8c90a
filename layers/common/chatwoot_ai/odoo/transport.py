"""The two ways to talk to Odoo, behind one `execute(model, method, args, kwargs, timeout_s)`:

- XML-RPC (every Odoo): `/xmlrpc/2/common` authenticate once (the uid is kept with the pool), then
  `/xmlrpc/2/object` execute_kw(db, uid, api_key, model, method, args, kwargs). HTTP/1.1 keep-alive, one socket.
- JSON-2 (Odoo 19+): `POST /json/2/<model>/<method>` with named arguments, `Authorization: bearer <api key>` and
  `X-Odoo-Database`. No uid; the key says who calls.

Both raise only `ApiError` (errors.py): a fault becomes 502 with Odoo's message, a timeout 504, a refused or broken
connection 502. A connection that failed at the transport level is marked `broken` and never goes back to the pool.
These classes are internal: the allow-list lives in client.py, which is the only caller.
"""

from __future__ import annotations

import http.client
import re
import xmlrpc.client
from dataclasses import dataclass
from typing import Any, Protocol
from xml.parsers.expat import ExpatError

import httpx

from chatwoot_ai.errors import ApiError
from chatwoot_ai.odoo.faults import (
    FAULT_ACCESS_DENIED,
    fault_message,
    odoo_auth_failed,
    odoo_fault,
    odoo_timeout,
    odoo_unreachable,
)


@dataclass(frozen=True)
class OdooTarget:
    """One tenant's Odoo: where, as whom, how, and how long to wait. `api_key` is the secret; it never prints."""

    url: str
    db: str
    username: str
    api_key: str
    protocol: str = "xmlrpc"
    timeout_s: float = 10.0

    def __repr__(self) -> str:
        return f"OdooTarget(url={self.url!r}, db={self.db!r}, username={self.username!r}, protocol={self.protocol!r})"


class SharedState:
    """What every connection of one target shares in a warm instance: the uid and the models' field names."""

    def __init__(self) -> None:
        self.uid: int | None = None
        # model -> (when asked, field names); asked again after a while, so installing a module (stock) shows up
        self.fields: dict[str, tuple[float, frozenset[str]]] = {}


class Connection(Protocol):
    broken: bool

    def execute(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any], timeout_s: float) -> Any: ...

    def close(self) -> None: ...


def _with_timeout(conn: Any, timeout: float) -> Any:
    conn.timeout = timeout
    if conn.sock is not None:
        conn.sock.settimeout(timeout)
    return conn


class _TimeoutTransport(xmlrpc.client.Transport):
    """The stdlib transport (one persistent HTTP/1.1 connection) with a timeout set before every request."""

    timeout: float = 10.0

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        return _with_timeout(super().make_connection(host), self.timeout)  # type: ignore[no-any-return]


class _TimeoutSafeTransport(xmlrpc.client.SafeTransport):
    timeout: float = 10.0

    def make_connection(self, host: Any) -> http.client.HTTPSConnection:
        return _with_timeout(super().make_connection(host), self.timeout)  # type: ignore[no-any-return]


# Characters XML 1.0 cannot carry (controls, lone surrogates): xmlrpc.client sends them as they are and Odoo's
# parser rejects the whole request, so a customer's stray control character would become a 502.
_XML_INVALID = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(value: Any) -> Any:
    if isinstance(value, str):
        return _XML_INVALID.sub("", value)
    if isinstance(value, list | tuple):
        return [_xml_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _xml_safe(v) for k, v in value.items()}
    return value


class _OpenConnection:
    """A connection to one target; `broken` once it must not be reused (the pool drops it)."""

    protocol = ""

    def __init__(self, target: OdooTarget, shared: SharedState) -> None:
        self.target = target
        self.shared = shared
        self.broken = False


class XmlRpcConnection(_OpenConnection):
    protocol = "xmlrpc"

    def __init__(self, target: OdooTarget, shared: SharedState) -> None:
        super().__init__(target, shared)
        url = target.url.rstrip("/")
        transport = _TimeoutSafeTransport() if url.startswith("https://") else _TimeoutTransport()
        self._transport = transport
        self._common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common", transport=transport, allow_none=True)
        self._object = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", transport=transport, allow_none=True)

    def _guard(self, call: Any, timeout_s: float) -> Any:
        self._transport.timeout = max(0.05, timeout_s)
        try:
            return call()
        except xmlrpc.client.Fault as fault:
            raise odoo_fault(fault_message(str(fault.faultString)), code=fault.faultCode) from None
        except OverflowError:  # raised while encoding, before anything is sent: the caller's number, not Odoo
            raise ApiError(422, "validation_error", "a number is larger than Odoo accepts (32-bit integer)") from None
        except TimeoutError:
            self.broken = True
            raise odoo_timeout(self.target.timeout_s) from None
        except xmlrpc.client.ProtocolError as exc:
            self.broken = True
            raise odoo_unreachable(f"HTTP {exc.errcode} {exc.errmsg}") from None
        except (ExpatError, xmlrpc.client.ResponseError):
            self.broken = True
            raise odoo_unreachable("the answer is not XML-RPC (is odoo.url the Odoo server?)") from None
        except (OSError, http.client.HTTPException) as exc:
            self.broken = True
            raise odoo_unreachable(str(exc) or type(exc).__name__) from None

    def uid(self, timeout_s: float) -> int:
        if self.shared.uid is None:
            t = self.target
            uid = self._guard(lambda: self._common.authenticate(t.db, t.username, t.api_key, {}), timeout_s)
            if not uid:
                raise odoo_auth_failed(t.username, t.db)
            self.shared.uid = int(uid)
        return self.shared.uid

    def version(self, timeout_s: float) -> dict[str, Any]:
        return dict(self._guard(lambda: self._common.version(), timeout_s))

    def execute(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any], timeout_s: float) -> Any:
        uid = self.uid(timeout_s)
        t = self.target
        args, kwargs = _xml_safe(args), _xml_safe(kwargs)
        try:
            return self._guard(
                lambda: self._object.execute_kw(t.db, uid, t.api_key, model, method, args, kwargs), timeout_s)
        except ApiError as exc:
            if exc.code == "odoo_access_denied":
                self.shared.uid = None  # the user or key changed under us: authenticate again next time
            raise

    def close(self) -> None:
        self._transport.close()


# Positional arguments of the methods we call, by name (JSON-2 takes only named arguments).
_JSON2_ARG_NAMES: dict[str, tuple[str, ...]] = {
    "search_read": ("domain",),
    "search_count": ("domain",),
    "read": ("ids",),
    "create": ("vals_list",),
    "fields_get": (),
}


class Json2Connection(_OpenConnection):
    protocol = "json2"

    def __init__(self, target: OdooTarget, shared: SharedState) -> None:
        super().__init__(target, shared)
        self._http = httpx.Client(
            base_url=target.url.rstrip("/"),
            headers={"Authorization": f"bearer {target.api_key}", "X-Odoo-Database": target.db,
                     "User-Agent": "chatwoot-ai-odoo-gateway"},
            timeout=target.timeout_s,
        )

    def execute(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any], timeout_s: float) -> Any:
        names = _JSON2_ARG_NAMES.get(method, ())
        named: dict[str, Any] = dict(zip(names, args, strict=False))
        named.update(kwargs)
        single = method == "create" and isinstance(named.get("vals_list"), dict)
        if single:
            named["vals_list"] = [named["vals_list"]]
        try:
            response = self._http.post(f"/json/2/{model}/{method}", json=named, timeout=max(0.05, timeout_s))
        except httpx.TimeoutException:
            self.broken = True
            raise odoo_timeout(self.target.timeout_s) from None
        except httpx.HTTPError as exc:
            self.broken = True
            raise odoo_unreachable(str(exc) or type(exc).__name__) from None
        if response.status_code >= 400:
            raise self._error(response)
        try:
            result = response.json()
        except ValueError:
            raise odoo_unreachable("the answer is not JSON (is odoo.url the Odoo server?)") from None
        return result[0] if single and isinstance(result, list) and result else result

    def _error(self, response: httpx.Response) -> ApiError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "message" not in body:
            return odoo_unreachable(f"HTTP {response.status_code} {response.reason_phrase}")
        message = str(body.get("message") or body.get("name") or response.status_code)
        if response.status_code == 401:
            return odoo_fault(message, code=FAULT_ACCESS_DENIED)
        return odoo_fault(message)

    def close(self) -> None:
        self._http.close()


def open_connection(target: OdooTarget, shared: SharedState) -> Connection:
    if target.protocol == "json2":
        return Json2Connection(target, shared)
    return XmlRpcConnection(target, shared)


__all__ = ["Connection", "Json2Connection", "OdooTarget", "SharedState", "XmlRpcConnection", "open_connection"]
