"""The HTTP orders adapter (``PAYMENTS_ORDERS_URL``): one pooled ``requests`` session, short timeouts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from payments_core.errors import OrderNotFound, OrdersUnavailable, StoreUnavailable
from payments_core.values import Caller, Order

CONNECT_TIMEOUT: Final = 2.0
READ_TIMEOUT: Final = 5.0
# One more try of the idempotent GET when the connection was refused or dropped, as a
# pooled keep-alive connection is when the server closes it just as it is reused.
_RETRY: Final = Retry(
    total=1, connect=1, read=1, status=0, other=0, allowed_methods=frozenset({"GET"})
)


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
            OrderNotFound: no such order for this caller.
            OrdersUnavailable: the service is unreachable, or answered another error.
            StoreUnavailable: the answer is not a readable order.
        """
        headers = {"Accept": "application/json"}
        if caller.credentials:
            headers["Authorization"] = caller.credentials
        url = f"{self._base}/api/v1/orders/{quote(order_id, safe='')}"
        try:
            response = self._session.get(url, headers=headers, timeout=self._timeout)
        except requests.RequestException as exc:
            raise OrdersUnavailable(
                f"the orders service is unreachable ({type(exc).__name__})"
            ) from exc
        if response.status_code in (401, 403, 404):  # not an order this caller may pay
            raise OrderNotFound(order_id)
        if response.status_code != 200:
            raise OrdersUnavailable(f"the orders service answered {response.status_code}")
        try:
            return _order(response.json(parse_float=Decimal))
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            raise StoreUnavailable("the orders service answered an unreadable order") from exc

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()


def _order(document: Any) -> Order:
    data = document["data"]
    total = data["totalAmount"]
    if isinstance(total, bool) or not isinstance(total, int | str | Decimal):
        raise TypeError("totalAmount must be a number or a decimal string")
    return Order(
        id=str(data["id"]),
        buyer=_text(data["buyer"]),
        total=Decimal(total),
        status=_text(data["status"]),
        currency=_text(data.get("currency", "CNY")),
    )


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value
