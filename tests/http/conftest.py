"""The HTTP adapter on in-memory adapters and the fake vendor, driven by TestClient."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from payments_core.fakevendor import FakeVendor
from payments_core.inmemory import FrozenClock, InMemoryOrders, InMemoryPaymentRepository
from payments_core.services import PaymentService
from payments_core.testing import unique
from payments_core.values import Order
from payments_http.app import create_app
from payments_http.auth import JwtAuthenticator, issue_token

SECRET = "test-secret-" + "x" * 32

TokenFor = Callable[..., str]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def vendor(clock: FrozenClock) -> FakeVendor:
    return FakeVendor(clock=clock)


@pytest.fixture
def orders() -> InMemoryOrders:
    return InMemoryOrders()


@pytest.fixture
def repo() -> InMemoryPaymentRepository:
    return InMemoryPaymentRepository()


@pytest.fixture
def service(
    repo: InMemoryPaymentRepository, vendor: FakeVendor, orders: InMemoryOrders, clock: FrozenClock
) -> PaymentService:
    return PaymentService(
        repo=repo, vendors={"fake": vendor}, orders=orders, clock=clock, default_vendor="fake"
    )


@pytest.fixture
def client(service: PaymentService) -> Iterator[TestClient]:
    app = create_app(service, authenticator=JwtAuthenticator.from_secret(SECRET))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def token(
    username: str = "alice", roles: Sequence[str] = ("CUSTOMER",), lifetime: int = 600
) -> str:
    """A valid HS256 token for the test secret."""
    return issue_token(SECRET, username, roles, lifetime_seconds=lifetime, now=time.time())


def bearer(username: str = "alice", roles: Sequence[str] = ("CUSTOMER",)) -> dict[str, str]:
    """The Authorization header of a valid token."""
    return {"Authorization": f"Bearer {token(username, roles)}"}


@pytest.fixture
def order(orders: InMemoryOrders) -> Order:
    """A payable order of alice's for 1000.12."""
    placed = Order(id=unique("order-"), buyer="alice", total=Decimal("1000.12"), status="CREATED")
    orders.put(placed)
    return placed
