"""The HTTP adapter over the core's typed seams: vendor replies, orders outages, health, close."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from payments_core.errors import OrdersUnavailable, StoreUnavailable
from payments_core.fakevendor import FakeVendor
from payments_core.inmemory import FrozenClock, InMemoryOrders, InMemoryPaymentRepository
from payments_core.services import PaymentService
from payments_core.values import Caller, NotificationOutcome, Order, Reply
from payments_http import compose, serve
from payments_http.app import create_app
from payments_http.auth import JwtAuthenticator
from tests.http.conftest import SECRET
from tests.http.test_errors import error_of, place, post
from tests.http.test_payments_api import PAYMENTS, create, reference_of


class StatusLineVendor(FakeVendor):
    """A vendor whose protocol answers an empty 204 when processed and JSON FAIL otherwise."""

    def reply(self, outcome: NotificationOutcome) -> Reply:
        if outcome is NotificationOutcome.APPLIED:
            return Reply(status=204)
        body = json.dumps({"code": "FAIL", "message": outcome.value})
        status = 503 if outcome is NotificationOutcome.RETRY else 401
        return Reply(body=body, media_type="application/json", status=status)


class SessionVendor(FakeVendor):
    """A vendor holding a session, released by ``close``."""

    closed = False

    def close(self) -> None:
        self.closed = True


class DownOrders:
    def get(self, order_id: str, *, caller: Caller) -> Order:
        raise OrdersUnavailable("the orders service is unreachable (ConnectTimeout)")


class ThreadNotingOrders:
    """Any order book but the in-memory one: it notes the thread that asks it."""

    def __init__(self) -> None:
        self.book = InMemoryOrders()
        self.threads: list[str] = []

    def get(self, order_id: str, *, caller: Caller) -> Order:
        self.threads.append(threading.current_thread().name)
        return self.book.get(order_id, caller=caller)


class DownRepository(InMemoryPaymentRepository):
    def ping(self) -> None:
        raise StoreUnavailable()


def _client(service: PaymentService) -> TestClient:
    return TestClient(
        create_app(service, authenticator=JwtAuthenticator.from_secret(SECRET)),
        raise_server_exceptions=False,
    )


@pytest.fixture
def status_line() -> Iterator[tuple[TestClient, StatusLineVendor, InMemoryOrders]]:
    clock = FrozenClock()
    vendor = StatusLineVendor("fake", clock=clock)
    orders = InMemoryOrders()
    service = PaymentService(
        repo=InMemoryPaymentRepository(),
        vendors={"fake": vendor},
        orders=orders,
        clock=clock,
        default_vendor="fake",
    )
    with _client(service) as client:
        yield client, vendor, orders


def test_a_vendor_reply_with_its_own_status_is_sent_as_it_is(
    status_line: tuple[TestClient, StatusLineVendor, InMemoryOrders],
) -> None:
    client, vendor, orders = status_line
    payment = create(client, place(orders))
    body = vendor.pay(reference_of(payment))

    processed = client.post(f"{PAYMENTS}/notify/fake", content=body)
    forged = client.post(
        f"{PAYMENTS}/notify/fake",
        content=vendor.notification(reference_of(payment), forged=True),
    )

    assert (processed.status_code, processed.content) == (204, b"")
    assert "content-type" not in processed.headers
    assert forged.status_code == 401
    assert forged.headers["content-type"] == "application/json"
    assert forged.json() == {"code": "FAIL", "message": "refused"}


def test_an_unreachable_orders_service_is_503_orders_unavailable_with_retry_after(
    service: PaymentService,
) -> None:
    down = PaymentService(
        repo=service.repo,
        vendors=service.vendors,
        orders=DownOrders(),
        clock=service.clock,
        default_vendor="fake",
    )

    with _client(down) as client:
        response = post(client, {"orderId": "o", "subject": "x"})
        health = client.get("/health")

    error = error_of(response, 503, "orders_unavailable")
    assert "unreachable" in error["message"]
    assert int(response.headers["retry-after"]) > 0
    assert health.status_code == 200  # the payments database is fine


def test_health_is_503_when_the_repository_does_not_answer_its_ping(
    service: PaymentService,
) -> None:
    down = PaymentService(
        repo=DownRepository(),
        vendors=service.vendors,
        orders=service.orders,
        clock=service.clock,
        default_vendor="fake",
    )

    with _client(down) as client:
        response = client.get("/health")

    error_of(response, 503, "store_unavailable")


def test_create_leaves_the_event_loop_for_any_orders_but_the_in_memory_book(
    service: PaymentService,
) -> None:
    orders = ThreadNotingOrders()
    remote = PaymentService(
        repo=service.repo,
        vendors=service.vendors,
        orders=orders,
        clock=service.clock,
        default_vendor="fake",
    )

    with _client(remote) as client:
        create(client, place(orders.book))
        loop_thread = client.portal.call(lambda: threading.current_thread().name)  # type: ignore[union-attr]  # set inside `with`

    assert orders.threads
    assert loop_thread not in orders.threads


def _holding(vendor: SessionVendor, service: PaymentService) -> PaymentService:
    """``service``'s ports with ``vendor`` as its only vendor."""
    return PaymentService(
        repo=service.repo,
        vendors={vendor.name: vendor},
        orders=service.orders,
        clock=service.clock,
        default_vendor=vendor.name,
    )


def test_the_server_closes_the_vendors_sessions_when_it_stops(
    service: PaymentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    vendor = SessionVendor("fake")
    holder = _holding(vendor, service)
    monkeypatch.setattr(compose, "build_service", lambda *_, **__: (holder, None))
    app = compose.create_app_from_settings(
        {"PAYMENTS_RECONCILE_INTERVAL": "0"}, authenticator=JwtAuthenticator.from_secret(SECRET)
    )

    with TestClient(app):
        assert not vendor.closed

    assert vendor.closed


def test_the_check_before_starting_workers_releases_what_it_built(
    service: PaymentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    vendor = SessionVendor("fake")
    holder = _holding(vendor, service)
    monkeypatch.setattr(serve, "build_service", lambda *_, **__: (holder, None))

    serve.check({"PAYMENTS_JWT_SECRET": SECRET})

    assert vendor.closed
