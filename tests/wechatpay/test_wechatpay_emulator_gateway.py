"""End to end: WeChatPayGateway and the core's PaymentService against the emulator over HTTP.

The shop's notify endpoint is the real thing: the emulator's notification goes to the
service's ``handle_notification`` through the gateway, and the gateway's reply goes back
to the emulator, which resends until it is a 2xx.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from payments_alipay import Timeouts
from payments_core.errors import SignatureInvalid, VendorError, VendorUnavailable
from payments_core.inmemory import FrozenClock, InMemoryOrders, InMemoryPaymentRepository
from payments_core.money import Money
from payments_core.payment import Payment, PaymentStatus
from payments_core.services import PaymentService
from payments_core.testing import unique
from payments_core.values import (
    Caller,
    CheckoutRequest,
    NotificationOutcome,
    Order,
    RefundState,
    TradeStatus,
)
from payments_vendorkit.emulation.server import ServerThread
from payments_wechatpay.emulator import EmulatorServer
from payments_wechatpay.gateway import WeChatPayGateway
from payments_wechatpay.settings import WeChatPaySettings
from tests.wechatpay.emulator_support import APPID, MCHID, merchant_key, notifications, snapshot

pytestmark = pytest.mark.integration
__all__ = ["merchant_key"]  # a fixture
ALICE = Caller(username="alice", roles=["CUSTOMER"])
NOTIFY_PATH = "/api/v1/payments/notify/wechatpay"


class Shop:
    """The merchant's server: notifications go through the service, as payments_http does."""

    def __init__(self) -> None:
        self.service: PaymentService | None = None
        self.outcomes: list[NotificationOutcome] = []
        self.arrived = threading.Condition()
        self.app = Starlette(routes=[Route(NOTIFY_PATH, self.notify, methods=["POST"])])

    async def notify(self, request: Request) -> Response:
        assert self.service is not None
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        outcome = self.service.handle_notification("wechatpay", body, headers)
        reply = self.service.vendor("wechatpay").reply(outcome)
        with self.arrived:
            self.outcomes.append(outcome)
            self.arrived.notify_all()
        return Response(reply.body, reply.status or 200, media_type="application/json")

    def wait_for(self, count: int, timeout: float = 10.0) -> list[NotificationOutcome]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.outcomes) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{count} notifications expected, got {self.outcomes}")
                self.arrived.wait(left)
            return list(self.outcomes)


@pytest.fixture(scope="module")
def clock() -> FrozenClock:
    # at the real second: notification timestamps are checked against it, within 5 minutes
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture(scope="module")
def server(clock: FrozenClock) -> Iterator[EmulatorServer]:
    with EmulatorServer(resend_factor=0.001, clock=clock.now) as running:
        yield running


@pytest.fixture(scope="module")
def shop() -> Iterator[tuple[Shop, ServerThread]]:
    receiver = Shop()
    with ServerThread(receiver.app) as served:
        yield receiver, served


@pytest.fixture(scope="module")
def gateway(
    server: EmulatorServer,
    shop: tuple[Shop, ServerThread],
    merchant_key: RSAPrivateKey,
) -> Iterator[WeChatPayGateway]:
    raw = server.merchant_settings(
        mchid=MCHID, appid=APPID, private_key=merchant_key, public_url=shop[1].url
    )
    timeouts = Timeouts(connect=1, read=0.5, retries=1, backoff=0.01, total=5)
    # on the wall clock: it stamps and checks signatures, which the emulator checks against
    # its own wall clock; the service and the emulator's trades share the frozen one
    gateway = WeChatPayGateway(WeChatPaySettings.from_settings(raw), timeouts=timeouts)
    yield gateway
    gateway.close()


@pytest.fixture
def service(
    gateway: WeChatPayGateway,
    clock: FrozenClock,
    shop: tuple[Shop, ServerThread],
    server: EmulatorServer,
) -> PaymentService:
    server.emulator.reset()
    shop[0].outcomes.clear()
    service = PaymentService(
        repo=InMemoryPaymentRepository(),
        vendors={"wechatpay": gateway},
        orders=InMemoryOrders(),
        clock=clock,
        default_vendor="wechatpay",
    )
    shop[0].service = service
    return service


def _payment(service: PaymentService, amount: str = "12.34") -> Payment:
    order_id = unique("order-")
    orders = service.orders
    assert isinstance(orders, InMemoryOrders)
    orders.put(Order(id=order_id, buyer="alice", total=Decimal(amount), status="CREATED"))
    return service.create(ALICE, order_id=order_id, subject="Tea 茶", description="two boxes")


def _history(server: EmulatorServer, reference: str, sends: int) -> list[dict[str, object]]:
    """The transaction's notification history once it has ``sends`` entries."""
    deadline = time.monotonic() + 10
    while True:
        history = notifications(server, reference)
        if len(history) >= sends:
            return history
        assert time.monotonic() < deadline, history
        time.sleep(0.02)


def _refund_history(server: EmulatorServer, out_refund_no: str) -> list[dict[str, object]]:
    deadline = time.monotonic() + 10
    while True:
        refund = server.emulator.book.refund(out_refund_no)
        assert refund is not None
        if refund.notifications:
            return list(refund.notifications)
        assert time.monotonic() < deadline
        time.sleep(0.02)


def _pay(server: EmulatorServer, reference: str, **fake: object) -> requests.Response:
    return requests.post(f"{server.url}/control/transactions/{reference}/pay", json=fake, timeout=5)


def test_a_payment_is_confirmed_by_the_emulators_notification(
    service: PaymentService, server: EmulatorServer, shop: tuple[Shop, ServerThread]
) -> None:
    payment = _payment(service)
    attempt = payment.attempts[-1]

    paid = _pay(server, attempt.reference)
    _history(server, attempt.reference, 1)
    confirmed = service.get(ALICE, payment.id or 0)

    assert payment.status is PaymentStatus.PENDING
    assert attempt.order_string == snapshot(server, attempt.reference)["code_url"]
    assert paid.status_code == 200
    assert confirmed.status is PaymentStatus.CONFIRMED
    assert confirmed.vendor_trade_id == paid.json()["data"]["transaction_id"]
    time.sleep(0.1)  # a resend would follow within 15 ms
    history = notifications(server, attempt.reference)
    assert [(h["status"], h["delivered"]) for h in history] == [(204, True)]  # no resend


def test_verify_and_query_see_the_payment_without_a_notification(
    service: PaymentService, server: EmulatorServer, gateway: WeChatPayGateway
) -> None:
    payment = _payment(service, "0.01")
    reference = payment.attempts[-1].reference
    unpaid = gateway.query(reference)
    server.emulator.book.pay(reference)  # paid, and nobody told: no notification at all

    report = gateway.query(reference)
    verified = service.verify(ALICE, payment.id or 0)

    assert unpaid.status is TradeStatus.UNPAID
    assert report.status is TradeStatus.PAID
    assert report.amount == Money(1)
    assert verified is True
    assert service.get(ALICE, payment.id or 0).status is PaymentStatus.CONFIRMED


def test_a_sweep_times_out_an_expired_payment_after_the_emulator_closed_it(
    service: PaymentService, server: EmulatorServer, clock: FrozenClock
) -> None:
    payment = _payment(service)
    reference = payment.attempts[-1].reference

    clock.advance(timedelta(minutes=16))  # past the 15-minute checkout window
    try:
        changed = service.sweep_attempt(payment.id or 0, reference)
        late = _pay(server, reference)
    finally:
        clock.advance(timedelta(minutes=-16))

    assert changed is PaymentStatus.TIMEOUT
    assert snapshot(server, reference)["trade_state"] == "CLOSED"
    assert late.json()["error"]["code"] == "ORDER_CLOSED"


def test_a_retry_closes_the_old_code_so_it_cannot_be_paid(
    service: PaymentService, server: EmulatorServer
) -> None:
    payment = _payment(service)
    old = payment.attempts[-1].reference

    retried = service.retry(ALICE, payment.id or 0)
    stale = _pay(server, old)

    assert retried.attempts[-1].reference != old
    assert snapshot(server, old)["trade_state"] == "CLOSED"
    assert stale.status_code == 409
    assert _pay(server, retried.attempts[-1].reference).status_code == 200


def test_a_notification_reporting_another_app_is_refused_and_resent(
    service: PaymentService, server: EmulatorServer, shop: tuple[Shop, ServerThread]
) -> None:
    payment = _payment(service)
    reference = payment.attempts[-1].reference

    _pay(server, reference, appid="wxsomebodyelse")
    history = _history(server, reference, 2)

    assert service.get(ALICE, payment.id or 0).status is PaymentStatus.PENDING
    assert [h["status"] for h in history[:2]] == [400, 400]  # refused, so it comes again


@pytest.mark.parametrize(
    "forgery", ["bad-signature", "unknown-key", "stale", "undecryptable", "unsigned"]
)
def test_a_forged_stale_or_undecryptable_notification_is_refused_and_changes_nothing(
    service: PaymentService, server: EmulatorServer, forgery: str
) -> None:
    payment = _payment(service)
    reference = payment.attempts[-1].reference

    paid = _pay(server, reference, notification=forgery)
    history = _history(server, reference, 2)

    assert paid.status_code == 200
    assert [h["status"] for h in history[:2]] == [400, 400]  # refused, each time it comes
    assert service.get(ALICE, payment.id or 0) == payment
    assert service.verify(ALICE, payment.id or 0) is True  # the payment itself was genuine


def test_an_unknown_notification_forgery_is_refused_by_the_control_api(
    service: PaymentService, server: EmulatorServer
) -> None:
    payment = _payment(service)

    answer = _pay(server, payment.attempts[-1].reference, notification="polite")

    assert answer.status_code == 400
    assert snapshot(server, payment.attempts[-1].reference)["trade_state"] == "NOTPAY"


def test_a_notification_for_less_than_the_order_makes_the_payment_invalid(
    service: PaymentService, server: EmulatorServer, shop: tuple[Shop, ServerThread]
) -> None:
    payment = _payment(service, "12.34")

    _pay(server, payment.attempts[-1].reference, payer_total=1)
    history = _history(server, payment.attempts[-1].reference, 1)

    assert history[0]["status"] == 204  # genuine: taken in, and the payment flagged

    assert service.get(ALICE, payment.id or 0).status is PaymentStatus.INVALID


def test_refunds_through_the_gateway(
    service: PaymentService, server: EmulatorServer, gateway: WeChatPayGateway
) -> None:
    payment = _payment(service, "10.00")
    reference = payment.attempts[-1].reference
    _pay(server, reference)

    first = gateway.refund(reference, unique("RF"), Money(600), "broken cup")
    again = gateway.refund(reference, first.refund_reference, Money(600), "broken cup")
    too_much = gateway.refund(reference, unique("RF"), Money(401), None)
    queried = gateway.query_refund(reference, first.refund_reference)
    unknown = gateway.query_refund(reference, unique("RF"))

    assert first.state is RefundState.SUCCEEDED
    assert first.amount == Money(600)
    assert again == first
    assert too_much.state is RefundState.FAILED
    assert too_much.failure == "INVALID_REQUEST"
    assert queried.state is RefundState.SUCCEEDED
    assert unknown.state is RefundState.NOT_FOUND
    assert gateway.query(reference).status is TradeStatus.PAID  # REFUND: it was paid


def test_a_refund_notification_reaches_the_shop_verified_and_changes_no_payment(
    service: PaymentService,
    server: EmulatorServer,
    gateway: WeChatPayGateway,
    shop: tuple[Shop, ServerThread],
) -> None:
    payment = _payment(service, "3.00")
    reference = payment.attempts[-1].reference
    _pay(server, reference)
    _history(server, reference, 1)

    report = gateway.refund(reference, unique("RN"), Money(300), None)
    refund = _refund_history(server, report.refund_reference)

    assert refund[0]["status"] == 204  # it verified and decrypted: taken in
    assert service.get(ALICE, payment.id or 0).status is PaymentStatus.CONFIRMED


FAULTS = [
    ("timeout", VendorUnavailable),
    ("500", VendorUnavailable),
    ("html", SignatureInvalid),  # a 200 page, unsigned
    ("garbage", VendorError),
    ("bad-signature", SignatureInvalid),
    ("unsigned", SignatureInvalid),
    ("unknown-key", SignatureInvalid),
    ("system-error", VendorUnavailable),
    ("frequency-limited", VendorUnavailable),
]


@pytest.mark.parametrize(("mode", "error"), FAULTS)
def test_a_verify_that_meets_a_fault_raises_and_changes_nothing(
    service: PaymentService, server: EmulatorServer, mode: str, error: type[VendorError]
) -> None:
    payment = _payment(service)
    server.emulator.book.pay(payment.attempts[-1].reference)
    server.emulator.fail_next(mode, count=2, seconds=1.0, method="query")  # a retry fails too

    with pytest.raises(error):
        service.verify(ALICE, payment.id or 0)

    assert service.get(ALICE, payment.id or 0) == payment
    server.emulator.failures.clear()
    assert service.verify(ALICE, payment.id or 0) is True


def test_a_gateway_configured_for_a_mount_point_signs_below_it(
    merchant_key: RSAPrivateKey, gateway: WeChatPayGateway, server: EmulatorServer
) -> None:
    from starlette.routing import Mount

    mounted = Starlette(routes=[Mount("/wechatpay", app=server.emulator.app)])
    with ServerThread(mounted) as outer:
        settings = dataclasses.replace(gateway.settings, gateway_url=f"{outer.url}/wechatpay")
        below = WeChatPayGateway(settings)
        try:
            checkout = below.open_checkout(
                CheckoutRequest(
                    reference=unique("MT")[:32],
                    amount=Money(5),
                    subject="Tea",
                    description=None,
                    expires_at=server.emulator.clock() + timedelta(minutes=5),
                )
            )
        finally:
            below.close()

    assert checkout.order_string.startswith("weixin://wxpay/bizpayurl?pr=")
