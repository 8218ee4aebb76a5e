"""The buyer's return from a vendor's checkout: checked, then the vendor is asked itself."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from payments_core.errors import SignatureInvalid
from payments_core.fakevendor import FakeMode, FakeVendor
from payments_core.inmemory import FrozenClock, InMemoryPaymentRepository
from payments_core.payment import PaymentStatus
from payments_core.services import PaymentService
from payments_core.values import Caller, Order
from payments_http.app import create_app
from payments_http.auth import JwtAuthenticator
from tests.http.conftest import SECRET

ALICE = Caller(username="alice", roles={"CUSTOMER"})
SHOP = "http://shop.example/after-payment"
KEY = b"return-key"


class ReturningVendor(FakeVendor):
    """The fake vendor, sending the buyer back with an HMAC over the attempt's reference."""

    def signed_return(self, reference: str, **more: str) -> dict[str, str]:
        return {"out_trade_no": reference, "sig": _sig(reference), **more}

    def parse_return(self, query: Mapping[str, str]) -> str:
        reference = query.get("out_trade_no", "")
        if not reference or not hmac.compare_digest(query.get("sig", ""), _sig(reference)):
            raise SignatureInvalid(self.name, "the return does not verify")
        return reference


def _sig(reference: str) -> str:
    return hmac.new(KEY, reference.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def returning(clock: FrozenClock) -> ReturningVendor:
    return ReturningVendor(clock=clock)


@pytest.fixture
def world(
    returning: ReturningVendor, orders: object, clock: FrozenClock
) -> tuple[PaymentService, InMemoryPaymentRepository]:
    repo = InMemoryPaymentRepository()
    service = PaymentService(
        repo=repo,
        vendors={"fake": returning},
        orders=orders,  # type: ignore[arg-type]  # the conftest's InMemoryOrders
        clock=clock,
        default_vendor="fake",
    )
    return service, repo


def _client(service: PaymentService, return_to: str | None) -> Iterator[TestClient]:
    app = create_app(
        service, authenticator=JwtAuthenticator.from_secret(SECRET), return_to=return_to
    )
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


@pytest.fixture
def shop_client(world: tuple[PaymentService, InMemoryPaymentRepository]) -> Iterator[TestClient]:
    yield from _client(world[0], SHOP)


def _paid_reference(service: PaymentService, vendor: ReturningVendor, order: Order) -> str:
    payment = service.create(ALICE, order_id=order.id, subject="Tea")
    reference = payment.attempts[0].reference
    vendor.pay(reference)  # its notification is lost: only the return and the query tell
    return reference


def test_a_paid_buyer_is_sent_to_the_shop_once_the_vendor_itself_says_paid(
    shop_client: TestClient,
    world: tuple[PaymentService, InMemoryPaymentRepository],
    returning: ReturningVendor,
    order: Order,
) -> None:
    reference = _paid_reference(world[0], returning, order)
    queries = returning.queries

    response = shop_client.get(
        "/api/v1/payments/return/fake", params=returning.signed_return(reference)
    )

    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == SHOP
    payment = world[1].get_by_reference(reference)
    assert parse_qs(location.query) == {"payment": [str(payment.id)], "status": ["CONFIRMED"]}
    assert payment.status is PaymentStatus.CONFIRMED
    assert returning.queries == queries + 1


def test_a_return_claiming_payment_confirms_nothing_the_vendor_does_not_confirm(
    shop_client: TestClient,
    world: tuple[PaymentService, InMemoryPaymentRepository],
    returning: ReturningVendor,
    order: Order,
) -> None:
    payment = world[0].create(ALICE, order_id=order.id, subject="Tea")
    reference = payment.attempts[0].reference
    claims = returning.signed_return(reference, trade_status="TRADE_SUCCESS", total_amount="1")

    response = shop_client.get("/api/v1/payments/return/fake", params=claims)

    assert response.status_code == 303
    assert "status=PENDING" in response.headers["location"]
    assert world[1].get_by_reference(reference).status is PaymentStatus.PENDING


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"out_trade_no": "X", "sig": "0" * 64},
        [("out_trade_no", "A"), ("out_trade_no", "B"), ("sig", "x")],
        {"out_trade_no": "X", "sig": "y" * 9000},
    ],
)
def test_a_forged_repeated_or_oversized_return_is_400_and_asks_nobody(
    shop_client: TestClient, returning: ReturningVendor, query: object
) -> None:
    queries = returning.queries

    response = shop_client.get("/api/v1/payments/return/fake", params=query)  # type: ignore[arg-type]  # a list of pairs repeats a name

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert returning.queries == queries


def test_without_a_shop_url_the_return_answers_the_payment_and_status_as_json(
    world: tuple[PaymentService, InMemoryPaymentRepository],
    returning: ReturningVendor,
    order: Order,
) -> None:
    reference = _paid_reference(world[0], returning, order)
    returning.mode = FakeMode.DOWN  # the vendor cannot be asked: the payment stays as it is

    for client in _client(world[0], None):
        response = client.get(
            "/api/v1/payments/return/fake", params=returning.signed_return(reference)
        )

    assert response.status_code == 200
    assert response.json()["data"]["status"] == "PENDING"


def test_a_vendor_that_sends_no_buyer_back_has_no_return(client: TestClient) -> None:
    response = client.get("/api/v1/payments/return/fake", params={"out_trade_no": "X"})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "vendor_not_found"


def test_the_root_is_an_index_of_links(client: TestClient) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert response.json()["data"]["openapi"] == "/openapi.json"
