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

from payments_core.errors import OrderNotFound, OrdersError, OrdersUnavailable
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


@pytest.mark.parametrize(
    "reply",
    [
        {"status": 500},
        {"status": 503},
        {"status": 429},
        {"body": requests.ConnectTimeout()},
    ],
)
@responses.activate
def test_an_unreachable_or_busy_orders_service_is_orders_unavailable(
    reply: dict[str, Any],
) -> None:
    responses.get(f"{BASE}/api/v1/orders/o1", **reply)

    with pytest.raises(OrdersUnavailable):
        HttpOrders(BASE).get("o1", caller=CALLER)


# Were StoreUnavailable (503, "try again") before the orders_error decision: an answer
# that is there but unusable will not get better by retrying.
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
def test_an_unreadable_orders_answer_is_an_orders_error(reply: dict[str, Any]) -> None:
    responses.get(f"{BASE}/api/v1/orders/o1", **reply)

    with pytest.raises(OrdersError):
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

    order = HttpOrders(f"http://127.0.0.1:{port}").get(
        "o/1", caller=CALLER
    )  # the id order_doc answers

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


@pytest.mark.parametrize("order_id", [".", "..", ""])
@responses.activate
def test_an_id_that_would_walk_the_path_is_not_found_and_nothing_is_asked(order_id: str) -> None:
    # any request at all would reach an unregistered URL: responses raises for it
    with pytest.raises(OrderNotFound):
        HttpOrders(BASE).get(order_id, caller=CALLER)

    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("order_id", "segment"),
    [
        ("a/b", "a%2Fb"),
        ("../x", "..%2Fx"),
        ("a%2Fb", "a%252Fb"),
        ("%2e%2e", "%252e%252e"),
        ("a?b=1", "a%3Fb%3D1"),
        ("a#b", "a%23b"),
        ("a%b", "a%25b"),
        ("a\\b", "a%5Cb"),
        ("...", "..."),
        (" .", "%20."),
        ("订单1", "%E8%AE%A2%E5%8D%951"),
        ("\uff0e\uff0e", "%EF%BC%8E%EF%BC%8E"),  # fullwidth dots
        ("a\r\nX-Evil: 1", "a%0D%0AX-Evil%3A%201"),
        ("x" * 300, "x" * 300),
    ],
)
@responses.activate
def test_the_id_is_sent_as_exactly_one_path_segment(order_id: str, segment: str) -> None:
    answer = {"data": {"id": order_id, "buyer": "alice", "totalAmount": "1", "status": "CREATED"}}
    responses.get(f"{BASE}/api/v1/orders/{segment}", json=answer)

    order = HttpOrders(BASE).get(order_id, caller=CALLER)

    assert order.id == order_id
    assert [call.request.url for call in responses.calls] == [f"{BASE}/api/v1/orders/{segment}"]


@pytest.mark.parametrize("answered", ["o2", "O1", "o1 ", "", 1])
@responses.activate
def test_an_answer_about_another_order_is_an_orders_error(answered: object) -> None:
    document = {"data": {"id": answered, "buyer": "alice", "totalAmount": "1", "status": "CREATED"}}
    responses.get(f"{BASE}/api/v1/orders/o1", json=document)

    with pytest.raises(OrdersError):
        HttpOrders(BASE).get("o1", caller=CALLER)


def _answer(**fields: object) -> dict[str, Any]:
    data = {"id": "o1", "buyer": "alice", "totalAmount": "12.34", "status": "CREATED"}
    return {"data": {**data, **fields}}


@pytest.mark.parametrize(
    "reply",
    [
        {"json": _answer(currency="")},
        {"json": _answer(currency="usd")},
        {"json": _answer(currency="US")},
        {"json": _answer(currency=None)},
        {"json": _answer(currency=156)},
        {"json": _answer(totalAmount="1E+2")},
        {"json": _answer(totalAmount=" 12.34")},
        {"json": _answer(totalAmount="12.34\n")},
        {"json": _answer(totalAmount="\u0661\u0662.\u0663\u0664")},
        {"json": _answer(totalAmount="12_34")},
        {"json": _answer(totalAmount=None)},
        {"json": _answer(totalAmount=[1])},
        {"json": _answer(buyer=None)},
        {"json": _answer(status=1)},
        {"json": {"data": [_answer()["data"]]}},
        {"json": [_answer()]},
        {"json": "o1"},
        {"json": None},
        {
            "body": b'{"data": {"id": "o1", "buyer": "alice", "totalAmount": 1e2, "status": "CREATED"}}'
        },
        {
            "body": b'{"data": {"id": "o1", "buyer": "alice", "totalAmount": NaN, "status": "CREATED"}}'
        },
        {"body": b"[" * 100_000},
        {"body": b"\xff\xfe\x00"},
        {"body": b""},
        {"body": b'{"data": {"id": "o1", "pad": "' + b"x" * 70_000 + b'"}}'},
        {"status": 204},
        {"status": 400},
        {"status": 302, "headers": {"Location": f"{BASE}/api/v1/orders/o2"}},
    ],
    ids=lambda reply: repr(reply)[-48:],
)
@responses.activate
def test_every_unusable_orders_answer_is_one_orders_error(reply: dict[str, Any]) -> None:
    responses.get(f"{BASE}/api/v1/orders/o1", **reply)
    responses.get(f"{BASE}/api/v1/orders/o2", json=_answer(id="o2"))

    with pytest.raises(OrdersError) as raised:
        HttpOrders(BASE).get("o1", caller=CALLER)

    assert len(responses.calls) == 1  # a redirect is not followed with the caller's token
    assert len(raised.value.message) < 120


@pytest.mark.parametrize(
    ("total", "expected"), [("12.34", "12.34"), (12, "12"), ("0.001", "0.001")]
)
@responses.activate
def test_a_plain_amount_is_read_and_its_rules_are_left_to_money(
    total: object, expected: str
) -> None:
    responses.get(f"{BASE}/api/v1/orders/o1", json=_answer(totalAmount=total, currency="USD"))

    order = HttpOrders(BASE).get("o1", caller=CALLER)

    assert order.total == Decimal(expected)
    assert order.currency == "USD"


def test_the_orders_adapter_is_closeable_by_type() -> None:
    orders = HttpOrders(BASE)

    orders.close()

    assert isinstance(orders, Closeable)
