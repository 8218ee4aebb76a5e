"""The demo's shop pages, on in-memory adapters and the fake vendor."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from payments_core.fakevendor import FakeVendor
from payments_core.services import PaymentService
from payments_core.values import Caller, Order
from payments_http.app import create_app
from payments_http.auth import JwtAuthenticator
from payments_http.shop import shop_routes
from tests.http.conftest import SECRET

ALICE = Caller(username="alice", roles={"CUSTOMER"})
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ORDERS = (
    Order(id="A-1", buyer="alice", total=Decimal("12.30"), status="CREATED"),
    Order(id="A-<b>2", buyer="alice", total=Decimal("1.00"), status="CREATED"),
    Order(id="A-3", buyer="alice", total=Decimal("9.00"), status="PAID"),
    Order(id="B-1", buyer="bob", total=Decimal("5.00"), status="CREATED"),
)


@pytest.fixture
def shop(service: PaymentService, orders: object) -> Iterator[TestClient]:
    for order in ORDERS:
        orders.put(order)  # type: ignore[attr-defined]  # the conftest's InMemoryOrders
    app = create_app(
        service,
        authenticator=JwtAuthenticator.from_secret(SECRET),
        extra_routes=shop_routes(ALICE, ORDERS, ["fake"]),
    )
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


def test_the_shop_lists_the_buyers_orders_with_a_pay_button_for_payable_ones(
    shop: TestClient,
) -> None:
    page = shop.get("/").text

    assert 'id="pay-A-1-fake"' in page
    assert "A-&lt;b&gt;2" in page
    assert "A-<b>2" not in page
    assert "A-3" in page
    assert 'id="pay-A-3-fake"' not in page
    assert "B-1" not in page  # bob's


def test_pay_sends_the_browser_to_the_order_string_and_again_to_a_fresh_one(
    shop: TestClient, service: PaymentService
) -> None:
    first = shop.post("/shop/pay", content=b"order=A-1&vendor=fake", headers=FORM)
    again = shop.post("/shop/pay", content=b"order=A-1&vendor=fake", headers=FORM)

    assert first.status_code == again.status_code == 303
    assert first.headers["location"].startswith("https://fake.invalid/pay?ref=")
    assert again.headers["location"] != first.headers["location"]  # a new attempt
    payment = service.repo.find_for_order("A-1")
    assert payment is not None
    assert len(payment.attempts) == 2


def test_pay_for_someone_elses_order_is_refused(shop: TestClient) -> None:
    response = shop.post("/shop/pay", content=b"order=B-1&vendor=fake", headers=FORM)

    assert response.status_code == 409
    assert "not found" in response.text


def test_the_result_page_shows_the_stored_status_not_the_one_in_the_link(
    shop: TestClient, service: PaymentService
) -> None:
    payment = service.create(ALICE, order_id="A-1", subject="x")

    page = shop.get(f"/shop/result?payment={payment.id}&status=CONFIRMED").text

    assert '<b id="status">PENDING</b>' in page


@pytest.mark.parametrize("query", ["", "?payment=abc", "?payment=999999"])
def test_the_result_page_of_no_payment_is_404(shop: TestClient, query: str) -> None:
    assert shop.get(f"/shop/result{query}").status_code == 404


def test_the_result_page_does_not_show_another_buyers_payment(
    shop: TestClient, service: PaymentService, vendor: FakeVendor
) -> None:
    bob = Caller(username="bob", roles={"CUSTOMER"})
    payment = service.create(bob, order_id="B-1", subject="x")

    assert shop.get(f"/shop/result?payment={payment.id}").status_code == 404


def test_a_code_to_scan_is_paid_on_the_page_its_vendor_names(
    service: PaymentService, orders: object
) -> None:
    for order in ORDERS:
        orders.put(order)  # type: ignore[attr-defined]  # the conftest's InMemoryOrders
    routes = shop_routes(ALICE, ORDERS, ["fake"], {"fake": lambda code: f"/scan?{code[-8:]}"})
    app = create_app(
        service, authenticator=JwtAuthenticator.from_secret(SECRET), extra_routes=routes
    )
    with TestClient(app, follow_redirects=False) as client:
        response = client.post("/shop/pay", content=b"order=A-1&vendor=fake", headers=FORM)

    payment = service.repo.find_for_order("A-1")
    assert payment is not None
    assert response.headers["location"] == f"/scan?{payment.attempts[0].order_string[-8:]}"
