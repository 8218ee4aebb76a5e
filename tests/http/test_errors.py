"""Every error the API answers: status, code, headers, and never a stack trace."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from payments_core.errors import StoreUnavailable
from payments_core.fakevendor import FakeMode, FakeVendor
from payments_core.inmemory import InMemoryOrders, InMemoryPaymentRepository
from payments_core.payment import Payment, PaymentId
from payments_core.services import PaymentService
from payments_core.testing import unique
from payments_core.values import Caller, Order
from payments_http.app import create_app
from payments_http.auth import JwtAuthenticator
from tests.http.conftest import SECRET, bearer
from tests.http.test_payments_api import PAYMENTS, create, reference_of


def error_of(response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "Traceback" not in response.text
    error: dict[str, Any] = body["error"]
    return error


def place(
    orders: InMemoryOrders, total: str = "10.00", status: str = "CREATED", buyer: str = "alice"
) -> Order:
    order = Order(id=unique("o-"), buyer=buyer, total=Decimal(total), status=status)
    orders.put(order)
    return order


def post(client: TestClient, body: object, **headers: str) -> httpx2.Response:
    return client.post(PAYMENTS, json=body, headers={**bearer(), **headers})


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post(
        PAYMENTS,
        content=b'{"orderId": ',
        headers={**bearer(), "Content-Type": "application/json"},
    )

    error_of(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "body",
    [[1, 2], "text", {"orderId": 12, "subject": "x"}, {"orderId": "a", "subject": ["x"]},
     {"orderId": "a", "subject": "x", "description": 5}],
)  # fmt: skip
def test_wrong_shapes_and_field_types_are_400(client: TestClient, body: object) -> None:
    error_of(post(client, body), 400, "invalid_request")


@pytest.mark.parametrize(
    ("body", "field"),
    [({"subject": "x"}, "orderId"), ({"orderId": "o"}, "subject"),
     ({"orderId": "o", "subject": ""}, "subject"), ({"orderId": "", "subject": "x"}, "orderId"),
     ({"orderId": "o" * 65, "subject": "x"}, "orderId"),
     ({"orderId": "o", "subject": "x" * 257}, "subject"),
     ({"orderId": "o", "subject": "x", "description": "d" * 1025}, "description"),
     ({"orderId": "o", "subject": "a\x00b"}, "subject")],
)  # fmt: skip
def test_missing_or_invalid_fields_are_422_naming_the_field(
    client: TestClient, body: object, field: str
) -> None:
    error = error_of(post(client, body), 422, "validation_error")

    assert error["field"] == field
    assert field in error["message"]


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer not.a.jwt", "Bearer " + "x" * 5000],
)
def test_no_or_malformed_credentials_are_401_with_a_bearer_challenge(
    client: TestClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    response = client.get(f"{PAYMENTS}/1", headers=headers)

    error_of(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_every_user_endpoint_needs_a_token(client: TestClient) -> None:
    calls = [
        client.get(f"{PAYMENTS}/1"),
        client.post(PAYMENTS, json={"orderId": "o", "subject": "s"}),
        client.get(f"{PAYMENTS}/retry/1"),
        client.post(f"{PAYMENTS}/retry/1"),
        client.get(f"{PAYMENTS}/verify/1"),
    ]

    assert [r.status_code for r in calls] == [401] * 5


def test_401_comes_before_415_and_413(client: TestClient) -> None:
    response = client.post(PAYMENTS, content=b"x" * 70000, headers={"Content-Type": "text/plain"})

    error_of(response, 401, "unauthenticated")


def test_a_customer_role_is_needed_to_create(client: TestClient, order: Order) -> None:
    response = client.post(
        PAYMENTS, json={"orderId": order.id, "subject": "x"}, headers=bearer("alice", ["ADMIN"])
    )

    error_of(response, 403, "forbidden")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"{not json", "application/json"), (b"x" * 70000, "application/json"), (b"x", "text/plain")],
    ids=["malformed", "too-large", "not-json"],
)
def test_a_caller_who_may_not_create_is_403_whatever_the_body(
    client: TestClient, content: bytes, content_type: str
) -> None:
    response = client.post(
        PAYMENTS,
        content=content,
        headers={**bearer("alice", ["ADMIN"]), "Content-Type": content_type},
    )

    error_of(response, 403, "forbidden")


def test_an_unknown_payment_is_404(client: TestClient) -> None:
    error_of(client.get(f"{PAYMENTS}/424242", headers=bearer()), 404, "payment_not_found")


@pytest.mark.parametrize("path_id", ["abc", "0", "-1", "1.5", "9" * 30])
def test_an_id_that_names_no_payment_is_404(client: TestClient, path_id: str) -> None:
    error_of(client.get(f"{PAYMENTS}/{path_id}", headers=bearer()), 404, "payment_not_found")


def test_another_users_payment_is_404_not_403(client: TestClient, order: Order) -> None:
    payment = create(client, order)

    for path in (f"{PAYMENTS}/{payment['id']}", f"{PAYMENTS}/verify/{payment['id']}"):
        error_of(client.get(path, headers=bearer("mallory")), 404, "payment_not_found")


def test_an_unknown_order_is_404(client: TestClient) -> None:
    error_of(post(client, {"orderId": "nope", "subject": "x"}), 404, "order_not_found")


def test_another_buyers_order_is_404(client: TestClient, orders: InMemoryOrders) -> None:
    order = place(orders, buyer="bob")

    error_of(post(client, {"orderId": order.id, "subject": "x"}), 404, "order_not_found")


def test_a_paid_order_is_409(client: TestClient, orders: InMemoryOrders) -> None:
    order = place(orders, status="PAID")

    error_of(post(client, {"orderId": order.id, "subject": "x"}), 409, "order_already_paid")


def test_an_order_with_a_confirmed_payment_is_409_already_paid(
    client: TestClient, order: Order, vendor: FakeVendor
) -> None:
    payment = create(client, order)
    client.post(f"{PAYMENTS}/notify/fake", content=vendor.pay(reference_of(payment)))

    error_of(post(client, {"orderId": order.id, "subject": "x"}), 409, "order_already_paid")


def test_an_order_that_cannot_be_paid_is_409(client: TestClient, orders: InMemoryOrders) -> None:
    order = place(orders, status="CANCELLED")

    error_of(post(client, {"orderId": order.id, "subject": "x"}), 409, "order_not_payable")


def test_a_second_payment_for_an_order_is_409_with_the_existing_id(
    client: TestClient, order: Order
) -> None:
    payment = create(client, order)

    error = error_of(post(client, {"orderId": order.id, "subject": "x"}), 409, "payment_exists")

    assert error["paymentId"] == payment["id"]


def test_retrying_a_confirmed_payment_is_409(
    client: TestClient, order: Order, vendor: FakeVendor
) -> None:
    payment = create(client, order)
    client.post(f"{PAYMENTS}/notify/fake", content=vendor.pay(reference_of(payment)))

    response = client.get(f"{PAYMENTS}/retry/{payment['id']}", headers=bearer())

    error_of(response, 409, "payment_final")


def test_a_body_over_64_kib_is_413(client: TestClient) -> None:
    body = b'{"orderId": "o", "subject": "' + b"x" * (64 * 1024) + b'"}'

    response = client.post(
        PAYMENTS, content=body, headers={**bearer(), "Content-Type": "application/json"}
    )

    error_of(response, 413, "payload_too_large")


def test_a_streamed_body_over_64_kib_is_413_while_reading(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"orderId": "o", "subject": "'
        for _ in range(100):
            yield b"x" * 1024

    response = client.post(
        PAYMENTS, content=chunks(), headers={**bearer(), "Content-Type": "application/json"}
    )

    error_of(response, 413, "payload_too_large")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_is_415(client: TestClient, content_type: str | None) -> None:
    headers = bearer() if content_type is None else {**bearer(), "Content-Type": content_type}

    response = client.post(PAYMENTS, content=b'{"orderId": "o", "subject": "x"}', headers=headers)

    error_of(response, 415, "unsupported_media_type")


def test_json_with_a_charset_is_json(client: TestClient, order: Order) -> None:
    response = client.post(
        PAYMENTS,
        content=f'{{"orderId": "{order.id}", "subject": "x"}}'.encode(),
        headers={**bearer(), "Content-Type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 201


@pytest.mark.parametrize("total", ["0", "0.001", "100000000.01", "-5"])
def test_an_unpayable_amount_is_422(client: TestClient, orders: InMemoryOrders, total: str) -> None:
    order = place(orders, total=total)

    error_of(post(client, {"orderId": order.id, "subject": "x"}), 422, "amount_not_supported")


def test_garbage_from_the_vendor_is_502(
    client: TestClient, order: Order, vendor: FakeVendor
) -> None:
    payment = create(client, order)
    vendor.mode = FakeMode.GARBAGE

    response = client.get(f"{PAYMENTS}/verify/{payment['id']}", headers=bearer())

    error_of(response, 502, "vendor_error")


@pytest.mark.parametrize("action", ["verify", "retry"])
def test_an_unreachable_vendor_is_503_with_retry_after_not_false(
    client: TestClient, order: Order, vendor: FakeVendor, action: str
) -> None:
    payment = create(client, order)
    vendor.mode = FakeMode.DOWN

    response = client.get(f"{PAYMENTS}/{action}/{payment['id']}", headers=bearer())

    error_of(response, 503, "vendor_unavailable")
    assert int(response.headers["retry-after"]) > 0


class _DownOrders:
    def get(self, order_id: str, *, caller: Caller) -> Order:
        raise StoreUnavailable("the orders service is unreachable")


class _DownRepository(InMemoryPaymentRepository):
    def get(self, payment_id: PaymentId) -> Payment:
        raise StoreUnavailable()

    def ping(self) -> None:
        raise StoreUnavailable()


def _client(service: PaymentService) -> TestClient:
    app = create_app(service, authenticator=JwtAuthenticator.from_secret(SECRET))
    return TestClient(app, raise_server_exceptions=False)


def test_an_unreachable_store_is_503_with_retry_after(service: PaymentService) -> None:
    down = PaymentService(
        repo=_DownRepository(), vendors=service.vendors, orders=_DownOrders(), clock=service.clock,
        default_vendor="fake",
    )  # fmt: skip

    with _client(down) as client:
        responses = [
            client.get(f"{PAYMENTS}/1", headers=bearer()),
            post(client, {"orderId": "o", "subject": "x"}),
            client.get("/health"),
        ]

    for response in responses:
        error_of(response, 503, "store_unavailable")
        assert int(response.headers["retry-after"]) > 0


class _BrokenRepository(InMemoryPaymentRepository):
    def get(self, payment_id: PaymentId) -> Payment:
        raise RuntimeError("secret-token-in-message")


def test_an_unexpected_failure_is_500_json_without_details(service: PaymentService) -> None:
    broken = PaymentService(
        repo=_BrokenRepository(), vendors=service.vendors, orders=service.orders,
        clock=service.clock, default_vendor="fake",
    )  # fmt: skip

    with _client(broken) as client:
        response = client.get(f"{PAYMENTS}/1", headers=bearer())

    error = error_of(response, 500, "internal_error")
    assert "secret-token" not in response.text
    assert response.headers["x-request-id"] in error["message"]


class _ForgingRepository(InMemoryPaymentRepository):
    def get(self, payment_id: int) -> Payment:
        raise ValueError("boom\n2026-01-01 00:00:00,000 INFO payments_http.access forged=1")


def test_an_unexpected_failure_is_answered_and_logged_here_on_one_line_per_frame(
    service: PaymentService, caplog: pytest.LogCaptureFixture
) -> None:
    broken = PaymentService(
        repo=_ForgingRepository(), vendors=service.vendors, orders=service.orders,
        clock=service.clock, default_vendor="fake",
    )  # fmt: skip
    app = create_app(broken, authenticator=JwtAuthenticator.from_secret(SECRET))

    with TestClient(app) as client:  # a failure reaching the server would raise here
        response = client.get(f"{PAYMENTS}/1", headers=bearer())

    error_of(response, 500, "internal_error")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    [record] = [r for r in caplog.records if r.name == "payments_http.app"]
    assert record.exc_info is None  # no formatter prints the raw message
    text = record.getMessage()
    assert "ValueError: boom\\n2026-01-01" in text
    assert not [line for line in text.splitlines() if line.startswith("2026")]


def test_an_unknown_path_is_404_json(client: TestClient) -> None:
    error_of(client.get("/nowhere"), 404, "not_found")


def test_a_wrong_method_is_405_json(client: TestClient) -> None:
    error_of(client.delete(f"{PAYMENTS}/1"), 405, "method_not_allowed")
