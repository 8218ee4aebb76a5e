"""The HTTP orders adapter: forwarding, statuses, amounts, failures."""

from __future__ import annotations

import json
import socket
import threading
from decimal import Decimal
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from payments_core.errors import OrderNotFound, OrdersUnavailable, StoreUnavailable
from payments_core.ports import Closeable
from payments_core.values import Caller
from payments_http.orders import HttpOrders

BASE = "http://orders.test"
CALLER = Caller(username="alice", roles={"CUSTOMER"}, credentials="Bearer tok")


def order_doc(total: object = "1000.12", status: str = "CREATED") -> dict[str, object]:
    return {"data": {"id": "o/1", "buyer": "alice", "totalAmount": total, "status": status}}


@responses.activate(assert_all_requests_are_fired=True)
def test_the_callers_authorization_is_forwarded_and_the_id_quoted() -> None:
    responses.get(
        f"{BASE}/api/v1/orders/o%2F1",
        json=order_doc(),
        match=[matchers.header_matcher({"Authorization": "Bearer tok"})],
    )

    order = HttpOrders(BASE + "/").get("o/1", caller=CALLER)

    assert order.total == Decimal("1000.12")
    assert order.buyer == "alice"
    assert order.payable


@responses.activate
def test_a_json_number_amount_is_read_exactly() -> None:
    responses.get(
        f"{BASE}/api/v1/orders/o1",
        body=b'{"data": {"id": "o1", "buyer": "a", "totalAmount": 0.3, "status": "PAID"}}',
    )

    order = HttpOrders(BASE).get("o1", caller=CALLER)

    assert order.total == Decimal("0.3")
    assert not order.payable


@pytest.mark.parametrize("status", [401, 403, 404])
@responses.activate
def test_an_order_the_caller_may_not_see_is_not_found(status: int) -> None:
    responses.get(f"{BASE}/api/v1/orders/o1", status=status)

    with pytest.raises(OrderNotFound):
        HttpOrders(BASE).get("o1", caller=CALLER)


@pytest.mark.parametrize("reply", [{"status": 500}, {"body": requests.ConnectTimeout()}])
@responses.activate
def test_an_unreachable_orders_service_is_orders_unavailable(reply: dict[str, Any]) -> None:
    responses.get(f"{BASE}/api/v1/orders/o1", **reply)

    with pytest.raises(OrdersUnavailable):
        HttpOrders(BASE).get("o1", caller=CALLER)


@pytest.mark.parametrize(
    "reply",
    [
        {"body": b"<html>"},
        {"json": {"data": {"id": "o1"}}},
        {"json": order_doc(total=True)},
        {"json": order_doc(total="lots")},
    ],
)
@responses.activate
def test_an_unreadable_orders_answer_is_store_unavailable(reply: dict[str, Any]) -> None:
    responses.get(f"{BASE}/api/v1/orders/o1", **reply)

    with pytest.raises(StoreUnavailable):
        HttpOrders(BASE).get("o1", caller=CALLER)


def test_a_connection_dropped_without_an_answer_is_tried_once_more() -> None:
    body = json.dumps(order_doc()).encode()
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    served: list[str] = []

    def serve() -> None:
        for outcome in ("dropped", "answered"):
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                if outcome == "answered":
                    conn.sendall(answer % (len(body), body))
            served.append(outcome)

    server = threading.Thread(target=serve, daemon=True)
    server.start()

    order = HttpOrders(f"http://127.0.0.1:{port}").get("o1", caller=CALLER)

    server.join(5)
    listener.close()
    assert order.total == Decimal("1000.12")
    assert served == ["dropped", "answered"]


def test_a_connection_dropped_twice_is_orders_unavailable() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def drop_all() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)

    threading.Thread(target=drop_all, daemon=True).start()

    with pytest.raises(OrdersUnavailable, match="unreachable"):
        HttpOrders(f"http://127.0.0.1:{port}").get("o1", caller=CALLER)
    listener.close()


def test_the_orders_adapter_is_closeable_by_type() -> None:
    orders = HttpOrders(BASE)

    orders.close()

    assert isinstance(orders, Closeable)
