"""The HTTP orders adapter (``PAYMENTS_ORDERS_URL``): one pooled ``requests`` session, short timeouts.

What the orders service answers is read strictly: an answer that is not exactly one
readable order, the one asked for, is ``OrdersError`` (502 ``orders_error``), never a
payment and never a 500.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from payments_core.errors import OrderNotFound, OrdersError, OrdersUnavailable
from payments_core.money import plain_decimal
from payments_core.values import Caller, Order

CONNECT_TIMEOUT: Final = 2.0
READ_TIMEOUT: Final = 5.0
MAX_ANSWER: Final = 64 * 1024  # bytes of an order answer; one order is a few hundred
# One more try of the idempotent GET when the connection was refused or dropped, as a
# pooled keep-alive connection is when the server closes it just as it is reused.
_RETRY: Final = Retry(
    total=1, connect=1, read=1, status=0, other=0, allowed_methods=frozenset({"GET"})
)
# HTTP clients and servers resolve these path segments (RFC 3986 §5.2.4), even
# percent-encoded: /orders/.. is not an order, it is the service's root.
_DOT_SEGMENTS: Final = frozenset({"", ".", ".."})
_NOT_FOUND: Final = frozenset({401, 403, 404})  # not an order this caller may pay
_CURRENCY: Final = re.compile(r"[A-Z]{3}")


class HttpOrders:
    """``GET {base}/api/v1/orders/{id}`` with the caller's ``Authorization`` forwarded."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
        pool_size: int = 20,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=_RETRY)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def get(self, order_id: str, *, caller: Caller) -> Order:
        """The order.

        Raises:
            OrderNotFound: no such order for this caller, or an id no URL path can name.
            OrdersUnavailable: the service is unreachable, or answered 429 or 5xx.
            OrdersError: any other answer than one readable order with this id.
        """
        if order_id in _DOT_SEGMENTS:
            raise OrderNotFound(order_id)
        headers = {"Accept": "application/json"}
        if caller.credentials:
            headers["Authorization"] = caller.credentials
        try:
            with self._session.get(
                f"{self._base}/api/v1/orders/{quote(order_id, safe='')}",
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,  # the caller's token goes to this one URL only
                stream=True,
            ) as response:
                status, body = response.status_code, _capped_body(response)
        except requests.RequestException as exc:
            raise OrdersUnavailable(
                f"the orders service is unreachable ({type(exc).__name__})"
            ) from exc
        if status in _NOT_FOUND:
            raise OrderNotFound(order_id)
        if status >= 500 or status == 429:
            raise OrdersUnavailable(f"the orders service answered {status}")
        if status != 200:
            raise OrdersError(f"HTTP {status}")
        return read_order(body, order_id)

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()


def read_order(body: bytes | None, order_id: str) -> Order:
    """The order in a 200 answer ``{"data": {"id", "buyer", "totalAmount", "status"}}``.

    Raises:
        OrdersError: too long, not JSON, not that shape, a field of the wrong type, an
            amount that is not a plain decimal, a currency that is not three capital
            letters, or another order's id. The reason quotes nothing the service sent.
    """
    if body is None:
        raise OrdersError(f"more than {MAX_ANSWER // 1024} KiB")
    try:
        document = json.loads(body, parse_float=_json_decimal, parse_constant=_no_constant)
    except _NotPlain:
        raise OrdersError("a number is not a plain decimal") from None
    except (ValueError, RecursionError):  # decoding errors are ValueErrors too
        raise OrdersError("not JSON") from None
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict):
        raise OrdersError("no data object")
    order = Order(
        id=_text(data, "id"),
        buyer=_text(data, "buyer"),
        total=_amount(data.get("totalAmount")),
        status=_text(data, "status"),
        currency=_currency(data.get("currency", "CNY")),
    )
    if order.id != order_id:
        raise OrdersError("it answered about another order than the one asked for")
    return order


def _capped_body(response: requests.Response) -> bytes | None:
    """The body, or None when it is longer than ``MAX_ANSWER``."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=16 * 1024):
        size += len(chunk)
        if size > MAX_ANSWER:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class _NotPlain(ValueError):
    """A JSON number written with an exponent: exact, but not how an amount is written."""


def _json_decimal(literal: str) -> Decimal:
    value = plain_decimal(literal)
    if value is None:
        raise _NotPlain(literal)
    return value


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise OrdersError(f"{name} is not a string")
    return value


def _amount(value: object) -> Decimal:
    if isinstance(value, Decimal):  # a JSON number with a fraction, already checked plain
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    parsed = plain_decimal(value) if isinstance(value, str) else None
    if parsed is None:
        raise OrdersError("totalAmount is not a number or a plain decimal string")
    return parsed


def _currency(value: object) -> str:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise OrdersError("currency is not three capital letters")
    return value
