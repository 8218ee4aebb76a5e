"""The core's refunds with AlipayGateway and the emulator: money goes back once, a refund's
notification never moves a payment, and a charge taken twice is given back by itself.

In-memory repository and orders, a real gateway over real HTTP (uvicorn on 127.0.0.1).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from payments_alipay import AlipayGateway, AlipaySettings, Timeouts
from payments_alipay.emulator import EmulatorServer, ServerThread
from payments_core.errors import VendorUnavailable
from payments_core.inmemory import FrozenClock, InMemoryOrders, InMemoryPaymentRepository
from payments_core.payment import Payment, PaymentStatus
from payments_core.refund import RefundKind, RefundStatus
from payments_core.services import PaymentService
from payments_core.testing import unique
from payments_core.values import Caller, Order
from tests.alipay.conftest import APP_ID, read
from tests.alipay.emulator_fixtures import Shop

pytestmark = pytest.mark.integration
ALICE = Caller(username="alice", roles=["CUSTOMER"])
ADMIN = Caller(username="root", roles=["ADMIN"])
FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}


@pytest.fixture(scope="module")
def server(clock: FrozenClock) -> Iterator[EmulatorServer]:
    key = read("alipay_platform_private_key_pkcs8.pem")
    with EmulatorServer(platform_private_key=key, resend_factor=0.001, clock=clock.now) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(
    server: EmulatorServer,
    shop: tuple[Shop, ServerThread],
    app_key: RSAPrivateKey,
    clock: FrozenClock,
) -> Iterator[AlipayGateway]:
    raw = server.merchant_settings(app_id=APP_ID, private_key=app_key, public_url=shop[1].url)
    timeouts = Timeouts(connect=1, read=1, retries=0)
    gateway = AlipayGateway(AlipaySettings.from_settings(raw), timeouts=timeouts, clock=clock.now)
    yield gateway
    gateway.close()


@pytest.fixture
def service(gateway: AlipayGateway, clock: FrozenClock) -> PaymentService:
    return PaymentService(
        repo=InMemoryPaymentRepository(),
        vendors={"alipay": gateway},
        orders=InMemoryOrders(),
        clock=clock,
        default_vendor="alipay",
    )


def new_payment(service: PaymentService, amount: str = "25.50") -> Payment:
    order_id = unique("order-")
    orders = service.orders
    assert isinstance(orders, InMemoryOrders)
    orders.put(Order(id=order_id, buyer="alice", total=Decimal(amount), status="CREATED"))
    return service.create(ALICE, order_id=order_id, subject="Tea", description=None)


def pay(server: EmulatorServer, order_string: str, reference: str) -> None:
    requests.get(order_string, timeout=5).raise_for_status()
    paid = requests.post(f"{server.url}/control/trades/{reference}/pay", timeout=5)
    paid.raise_for_status()


def confirmed(service: PaymentService, server: EmulatorServer, shop: Shop) -> Payment:
    """A payment paid at the emulator and confirmed by its notification."""
    payment = new_payment(service)
    attempt = payment.attempts[-1]
    pay(server, attempt.order_string, attempt.reference)
    (body,) = shop.wait_for(attempt.reference)
    assert notify(service, body) == "success"
    payment = service.get(ALICE, payment.id or 0)
    assert payment.status is PaymentStatus.CONFIRMED
    return payment


def notify(service: PaymentService, body: bytes) -> str:
    return service.vendor("alipay").reply(service.handle_notification("alipay", body, FORM)).body


def refunds_at(server: EmulatorServer, reference: str) -> list[Any]:
    trade = server.emulator.trade(reference)
    assert trade is not None
    listed = trade["refunds"]
    assert isinstance(listed, list)
    return listed


def test_a_partial_and_a_full_refund_go_back_once_and_their_notifications_move_no_payment(
    service: PaymentService, server: EmulatorServer, shop: tuple[Shop, ServerThread]
) -> None:
    payment = confirmed(service, server, shop[0])
    reference = payment.attempts[-1].reference

    part = service.request_refund(ADMIN, payment.id or 0, amount=Decimal("5.50"), reason="cup")
    rest = service.request_refund(ADMIN, payment.id or 0)
    _, partial, full = shop[0].wait_for(reference, 3)
    replies = [notify(service, partial), notify(service, full), notify(service, full)]

    assert (part.status, rest.status) == (RefundStatus.SUCCEEDED, RefundStatus.SUCCEEDED)
    assert rest.amount.to_decimal() == Decimal("20.00")
    assert [r["refund_amount"] for r in refunds_at(server, reference)] == ["5.50", "20.00"]
    assert replies == ["success"] * 3
    assert service.get(ALICE, payment.id or 0) == payment  # still CONFIRMED, untouched
    assert [r.status for r in service.refunds(ADMIN, payment.id or 0)] == [
        RefundStatus.SUCCEEDED
    ] * 2


def test_a_refund_sent_while_alipay_fails_succeeds_exactly_once_when_it_recovers(
    service: PaymentService, server: EmulatorServer, shop: tuple[Shop, ServerThread]
) -> None:
    payment = confirmed(service, server, shop[0])
    reference = payment.attempts[-1].reference
    server.emulator.fail_next("500", method="alipay.trade.refund")
    server.emulator.fail_next("lost-answer", seconds=0, method="alipay.trade.refund")

    first = service.request_refund(ADMIN, payment.id or 0, amount=Decimal("3.00"))
    with pytest.raises(VendorUnavailable):
        service.sweep_refund(first.id or 0)  # paid out, but the answer never came back
    unsure = service.get_refund(ADMIN, payment.id or 0, first.id or 0).status
    settled = service.sweep_refund(first.id or 0)

    assert (first.status, unsure) == (RefundStatus.PENDING, RefundStatus.PENDING)
    assert settled is RefundStatus.SUCCEEDED
    assert [r["refund_amount"] for r in refunds_at(server, reference)] == ["3.00"]


def test_a_refund_alipay_refuses_is_failed_with_its_code(
    service: PaymentService, server: EmulatorServer, shop: tuple[Shop, ServerThread]
) -> None:
    payment = confirmed(service, server, shop[0])
    reference = payment.attempts[-1].reference
    outside = service.vendor("alipay").refund(reference, unique("R"), payment.amount, "by hand")
    assert outside.failure is None  # refunded at Alipay without the core knowing

    refused = service.request_refund(ADMIN, payment.id or 0, amount=Decimal("1.00"))

    assert (refused.status, refused.failure) == (RefundStatus.FAILED, "ACQ.TRADE_STATUS_ERROR")
    assert len(refunds_at(server, reference)) == 1
    assert service.get(ALICE, payment.id or 0) == payment


def test_a_second_charge_is_refunded_in_full_by_itself(
    service: PaymentService, server: EmulatorServer, shop: tuple[Shop, ServerThread]
) -> None:
    payment = new_payment(service, "12.30")
    first = payment.attempts[-1]
    payment = service.retry(ALICE, payment.id or 0)  # the buyer never opened the first one
    second = payment.attempts[-1]
    pay(server, second.order_string, second.reference)
    pay(server, first.order_string, first.reference)  # Alipay could not close it: paid too
    (paid,) = shop[0].wait_for(second.reference)
    (twice,) = shop[0].wait_for(first.reference)

    replies = [notify(service, paid), notify(service, twice)]

    assert replies == ["success", "success"]
    (refund,) = service.refunds(ADMIN, payment.id or 0)
    assert (refund.kind, refund.attempt, refund.status) == (
        RefundKind.DUPLICATE,
        first.reference,
        RefundStatus.SUCCEEDED,
    )
    assert [r["refund_amount"] for r in refunds_at(server, first.reference)] == ["12.30"]
    assert refunds_at(server, second.reference) == []
    after = service.get(ALICE, payment.id or 0)
    assert (after.status, after.vendor_trade_id) == (
        PaymentStatus.CONFIRMED,
        service.vendor("alipay").query(second.reference).trade_id,
    )
    (_, closed) = shop[0].wait_for(first.reference, 2)  # Alipay's TRADE_CLOSED after the refund
    assert notify(service, closed) == "success"
    assert service.get(ALICE, payment.id or 0) == after
