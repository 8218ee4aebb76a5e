"""Every endpoint of the payments API, on in-memory adapters and the fake vendor."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.testclient import TestClient

from payments_core.fakevendor import FakeMode, FakeVendor
from payments_core.inmemory import InMemoryOrders
from payments_core.testing import unique
from payments_core.values import Order
from tests.http.conftest import bearer

PAYMENTS = "/api/v1/payments"


def create(client: TestClient, order: Order, **headers: str) -> dict[str, Any]:
    response = client.post(
        PAYMENTS,
        json={"orderId": order.id, "subject": "Tea 茶", "description": "two boxes"},
        headers={**bearer(), **headers},
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["data"]
    return created


def reference_of(payment: dict[str, Any]) -> str:
    return str(payment["orderString"]).rsplit("ref=", 1)[1]


def test_create_answers_201_with_the_payment_and_its_location(
    client: TestClient, order: Order
) -> None:
    response = client.post(
        PAYMENTS, json={"orderId": order.id, "subject": "Tea 茶"}, headers=bearer()
    )

    assert response.status_code == 201
    payment = response.json()["data"]
    assert response.headers["location"] == f"{PAYMENTS}/{payment['id']}"
    assert list(payment) == [
        "id", "order", "orderString", "createdAt", "updatedAt", "payer", "subject",
        "description", "totalAmount", "status", "vendorTradeId", "confirmedAt",
        "confirmed", "valid",
    ]  # fmt: skip
    assert payment["order"] == order.id
    assert payment["payer"] == "alice"
    assert payment["status"] == "PENDING"
    assert payment["description"] is None
    assert b'"totalAmount":1000.12' in response.content


def test_the_amount_comes_from_the_order_never_the_client(client: TestClient, order: Order) -> None:
    response = client.post(
        PAYMENTS,
        json={"orderId": order.id, "subject": "x", "totalAmount": 0.01},
        headers=bearer(),
    )

    assert response.json()["data"]["totalAmount"] == 1000.12


def test_the_payer_gets_the_payment(client: TestClient, order: Order) -> None:
    payment = create(client, order)

    response = client.get(f"{PAYMENTS}/{payment['id']}", headers=bearer())

    assert response.status_code == 200
    assert response.json() == {"data": payment}


def test_an_admin_gets_anyones_payment(client: TestClient, order: Order) -> None:
    payment = create(client, order)

    response = client.get(f"{PAYMENTS}/{payment['id']}", headers=bearer("root", ["ADMIN"]))

    assert response.status_code == 200


def test_retry_issues_a_new_order_string(client: TestClient, order: Order) -> None:
    payment = create(client, order)

    response = client.get(f"{PAYMENTS}/retry/{payment['id']}", headers=bearer())

    assert response.status_code == 200
    assert response.json()["data"]["orderString"] != payment["orderString"]
    assert response.json()["data"]["status"] == "PENDING"


def test_retry_accepts_post(client: TestClient, order: Order) -> None:
    payment = create(client, order)

    response = client.post(f"{PAYMENTS}/retry/{payment['id']}", headers=bearer())

    assert response.status_code == 200


def test_retry_is_for_the_payer_only(client: TestClient, order: Order) -> None:
    payment = create(client, order)

    response = client.get(f"{PAYMENTS}/retry/{payment['id']}", headers=bearer("root", ["ADMIN"]))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "payment_not_found"


def test_verify_is_false_while_the_vendor_says_unpaid(client: TestClient, order: Order) -> None:
    payment = create(client, order)

    response = client.get(f"{PAYMENTS}/verify/{payment['id']}", headers=bearer())

    assert response.status_code == 200
    assert response.json() == {"data": False}


def test_verify_is_true_once_paid_and_confirms(
    client: TestClient, order: Order, vendor: FakeVendor
) -> None:
    payment = create(client, order)
    vendor.pay(reference_of(payment))

    response = client.get(f"{PAYMENTS}/verify/{payment['id']}", headers=bearer("root", ["ADMIN"]))

    assert response.json() == {"data": True}
    confirmed = client.get(f"{PAYMENTS}/{payment['id']}", headers=bearer()).json()["data"]
    assert confirmed["status"] == "CONFIRMED"
    assert confirmed["confirmed"] is True
    assert confirmed["valid"] is True
    assert confirmed["vendorTradeId"]


def test_a_genuine_notification_confirms_and_answers_success(
    client: TestClient, order: Order, vendor: FakeVendor
) -> None:
    payment = create(client, order)
    body = vendor.pay(reference_of(payment))

    response = client.post(
        f"{PAYMENTS}/notify/fake",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 200
    assert response.text == "success"
    assert response.headers["content-type"].startswith("text/plain")
    got = client.get(f"{PAYMENTS}/{payment['id']}", headers=bearer()).json()["data"]
    assert got["status"] == "CONFIRMED"


def test_a_duplicate_notification_answers_success_again(
    client: TestClient, order: Order, vendor: FakeVendor
) -> None:
    payment = create(client, order)
    body = vendor.pay(reference_of(payment))
    client.post(f"{PAYMENTS}/notify/fake", content=body)

    response = client.post(f"{PAYMENTS}/notify/fake", content=body)

    assert response.text == "success"


def test_a_forged_notification_is_refused_in_plain_text(
    client: TestClient, order: Order, vendor: FakeVendor
) -> None:
    payment = create(client, order)
    vendor.pay(reference_of(payment))

    response = client.post(
        f"{PAYMENTS}/notify/fake", content=vendor.notification(reference_of(payment), forged=True)
    )

    assert response.text != "success"
    got = client.get(f"{PAYMENTS}/{payment['id']}", headers=bearer()).json()["data"]
    assert got["status"] == "PENDING"


def test_a_notification_for_an_unknown_vendor_is_404(client: TestClient) -> None:
    response = client.post(f"{PAYMENTS}/notify/nobody", content=b"a=1")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "vendor_not_found"


def test_a_notification_over_64_kib_is_413(client: TestClient) -> None:
    response = client.post(f"{PAYMENTS}/notify/fake", content=b"a" * (64 * 1024 + 1))

    assert response.status_code == 413


def test_idempotency_key_replays_the_first_answer(client: TestClient, order: Order) -> None:
    first = create(client, order, **{"Idempotency-Key": "k-1"})

    again = create(client, order, **{"Idempotency-Key": "k-1"})

    assert again["id"] == first["id"]


def test_idempotency_key_with_another_body_is_422(client: TestClient, order: Order) -> None:
    create(client, order, **{"Idempotency-Key": "k-2"})

    response = client.post(
        PAYMENTS,
        json={"orderId": order.id, "subject": "something else"},
        headers={**bearer(), "Idempotency-Key": "k-2"},
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"


def test_an_unusable_idempotency_key_is_422_naming_it(client: TestClient, order: Order) -> None:
    response = client.post(
        PAYMENTS,
        json={"orderId": order.id, "subject": "x"},
        headers={**bearer(), "Idempotency-Key": "x" * 300},
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "Idempotency-Key"


def test_payments_of_two_orders_are_independent(
    client: TestClient, order: Order, orders: InMemoryOrders
) -> None:
    other = Order(id=unique("o-"), buyer="alice", total=Decimal("0.30"), status="CREATED")
    orders.put(other)

    first, second = create(client, order), create(client, other)

    assert first["id"] != second["id"]
    assert second["totalAmount"] == 0.3


def test_vendor_mode_is_restored_between_tests(vendor: FakeVendor) -> None:
    assert vendor.mode is FakeMode.NORMAL
