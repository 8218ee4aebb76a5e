"""The three refund endpoints, on in-memory adapters and the fake vendor."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from starlette.testclient import TestClient

from payments_core.converters import loads
from payments_core.fakevendor import FakeMode, FakeVendor
from payments_core.values import Order
from tests.http.conftest import bearer
from tests.http.test_payments_api import create, reference_of

PAYMENTS = "/api/v1/payments"
ADMIN = bearer("root", ("ADMIN",))
FIELDS = [
    "id", "paymentId", "attempt", "reference", "amount", "reason", "kind", "status",
    "failure", "createdAt", "updatedAt", "succeededAt",
]  # fmt: skip


@pytest.fixture
def paid(client: TestClient, vendor: FakeVendor, order: Order) -> dict[str, Any]:
    """Alice's payment of 1000.12, CONFIRMED through a notification."""
    payment = create(client, order)
    body = vendor.pay(reference_of(payment))
    assert client.post(f"{PAYMENTS}/notify/fake", content=body).status_code == 200
    confirmed: dict[str, Any] = client.get(f"{PAYMENTS}/{payment['id']}", headers=bearer()).json()
    data: dict[str, Any] = confirmed["data"]
    assert data["status"] == "CONFIRMED"
    return data


def refund(client: TestClient, payment: dict[str, Any], body: object = None, **headers: str) -> Any:
    return client.post(
        f"{PAYMENTS}/{payment['id']}/refunds",
        json=body if body is not None else {},
        headers={**ADMIN, **headers},
    )


def test_an_admin_refunds_in_full_with_201_location_and_the_fields_in_order(
    client: TestClient, paid: dict[str, Any]
) -> None:
    response = refund(client, paid, {"reason": "customer returned it"})

    assert response.status_code == 201, response.text
    document = response.json()["data"]
    assert list(document) == FIELDS
    assert response.headers["location"] == f"{PAYMENTS}/{paid['id']}/refunds/{document['id']}"
    assert document["paymentId"] == paid["id"]
    assert document["kind"] == "REQUESTED"
    assert document["status"] == "SUCCEEDED"
    assert document["reason"] == "customer returned it"
    assert document["failure"] is None
    assert document["succeededAt"] is not None
    assert loads(response.content)["data"]["amount"] == Decimal("1000.12")
    assert document["reference"] != document["attempt"]


def test_partial_refunds_follow_each_other_until_nothing_is_left(
    client: TestClient, paid: dict[str, Any]
) -> None:
    first = refund(client, paid, {"amount": 0.12})
    second = refund(client, paid, {"amount": 1000})
    too_much = refund(client, paid, {"amount": 0.01})

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["data"]["reference"] != second.json()["data"]["reference"]
    assert too_much.status_code == 422
    assert too_much.json()["error"]["code"] == "refund_exceeds_payment"


def test_more_than_the_payment_is_refused_and_nothing_is_recorded(
    client: TestClient, paid: dict[str, Any]
) -> None:
    response = refund(client, paid, {"amount": 1000.13})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "refund_exceeds_payment"
    listed = client.get(f"{PAYMENTS}/{paid['id']}/refunds", headers=ADMIN)
    assert listed.json() == {"data": []}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"amount": 0}, 422, "validation_error"),
        ({"amount": -1}, 422, "validation_error"),
        ({"amount": 0.001}, 422, "validation_error"),
        ({"amount": 1e300}, 422, "validation_error"),
        ({"amount": "10"}, 400, "invalid_request"),
        ({"amount": True}, 400, "invalid_request"),
        ({"reason": 5}, 400, "invalid_request"),
        ({"reason": "x" * 257}, 422, "validation_error"),
        ([1], 400, "invalid_request"),
    ],
)
def test_an_unusable_body_is_refused_and_records_nothing(
    client: TestClient, paid: dict[str, Any], body: object, status: int, code: str
) -> None:
    response = refund(client, paid, body)

    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert client.get(f"{PAYMENTS}/{paid['id']}/refunds", headers=ADMIN).json() == {"data": []}


def test_a_body_that_is_not_json_is_415_and_no_body_refunds_everything(
    client: TestClient, paid: dict[str, Any]
) -> None:
    url = f"{PAYMENTS}/{paid['id']}/refunds"
    as_form = client.post(url, content=b"amount=1", headers={**ADMIN, "Content-Type": "text/plain"})
    empty = client.post(url, headers=ADMIN)

    assert as_form.status_code == 415
    assert empty.status_code == 201
    assert loads(empty.content)["data"]["amount"] == Decimal("1000.12")


def test_only_an_admin_may_refund_even_the_payer(client: TestClient, paid: dict[str, Any]) -> None:
    response = client.post(f"{PAYMENTS}/{paid['id']}/refunds", json={}, headers=bearer())

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_a_payment_that_is_not_confirmed_is_not_refundable(
    client: TestClient, order: Order
) -> None:
    pending = create(client, order)

    response = refund(client, pending)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "payment_not_refundable"


def test_an_unknown_payment_is_payment_not_found(client: TestClient) -> None:
    response = client.post(f"{PAYMENTS}/987654/refunds", json={}, headers=ADMIN)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "payment_not_found"


def test_the_payer_and_admins_see_the_refunds_and_nobody_else(
    client: TestClient, paid: dict[str, Any]
) -> None:
    made = [refund(client, paid, {"amount": a}).json()["data"] for a in (1, 2)]
    url = f"{PAYMENTS}/{paid['id']}/refunds"

    for who in (bearer(), ADMIN):
        assert client.get(url, headers=who).json()["data"] == made  # oldest first
        one = client.get(f"{url}/{made[1]['id']}", headers=who)
        assert one.json()["data"] == made[1]
    for path in (url, f"{url}/{made[0]['id']}"):
        stranger = client.get(path, headers=bearer("mallory"))
        assert stranger.status_code == 404
        assert stranger.json()["error"]["code"] == "payment_not_found"


def test_a_refund_is_found_only_under_its_own_payment(
    client: TestClient, paid: dict[str, Any], orders: Any, vendor: FakeVendor
) -> None:
    other_order = Order(id="other-order", buyer="alice", total=Decimal("5"), status="CREATED")
    orders.put(other_order)
    other = create(client, other_order)
    made = refund(client, paid).json()["data"]

    for path in (
        f"{PAYMENTS}/{other['id']}/refunds/{made['id']}",
        f"{PAYMENTS}/{paid['id']}/refunds/999999",
        f"{PAYMENTS}/{paid['id']}/refunds/abc",
        f"{PAYMENTS}/{paid['id']}/refunds/0",
    ):
        response = client.get(path, headers=ADMIN)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "refund_not_found"


def test_a_repeated_idempotency_key_answers_the_first_refund(
    client: TestClient, paid: dict[str, Any]
) -> None:
    first = refund(client, paid, {"amount": 10}, **{"Idempotency-Key": "r-1"})
    again = refund(client, paid, {"amount": 10}, **{"Idempotency-Key": "r-1"})
    reused = refund(client, paid, {"amount": 11}, **{"Idempotency-Key": "r-1"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    listed = client.get(f"{PAYMENTS}/{paid['id']}/refunds", headers=ADMIN).json()["data"]
    assert len(listed) == 1


def test_a_vendor_that_cannot_be_reached_leaves_the_refund_pending_with_201(
    client: TestClient, paid: dict[str, Any], vendor: FakeVendor
) -> None:
    vendor.mode = FakeMode.DOWN

    response = refund(client, paid)

    assert response.status_code == 201
    assert response.json()["data"]["status"] == "PENDING"
    still = refund(client, paid, {"amount": 0.01})  # the PENDING refund counts
    assert still.status_code == 422
    assert still.json()["error"]["code"] == "refund_exceeds_payment"


def test_the_refund_endpoints_are_in_the_openapi_document(client: TestClient) -> None:
    document = client.get("/openapi.json").json()

    assert set(document["paths"]["/api/v1/payments/{id}/refunds"]) == {"get", "post"}
    assert "get" in document["paths"]["/api/v1/payments/{id}/refunds/{refundId}"]
    assert document["components"]["schemas"]["Refund"]["required"] == FIELDS
