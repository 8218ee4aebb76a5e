"""The core's PaymentService with AlipayGateway and the emulator: faults change nothing.

In-memory repository and orders, a real gateway over real HTTP (uvicorn on 127.0.0.1).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from payments_alipay import AlipayGateway, AlipaySettings, Timeouts
from payments_alipay.emulator import EmulatorServer, ServerThread
from payments_core.errors import SignatureInvalid, VendorError, VendorUnavailable
from payments_core.inmemory import FrozenClock, InMemoryOrders, InMemoryPaymentRepository
from payments_core.payment import Payment, PaymentStatus
from payments_core.services import PaymentService
from payments_core.testing import unique
from payments_core.values import Caller, Order, Reply
from tests.alipay.conftest import APP_ID, read
from tests.alipay.emulator_fixtures import Shop

pytestmark = pytest.mark.integration
CLOSE_LATER: list[AlipayGateway] = []


@pytest.fixture(scope="module", autouse=True)
def _close_gateways() -> Iterator[None]:
    yield
    for gateway in CLOSE_LATER:
        gateway.close()


ALICE = Caller(username="alice", roles=["CUSTOMER"])
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
    timeouts = Timeouts(connect=1, read=0.5, retries=1, backoff=0.01)
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


def notify(service: PaymentService, body: bytes) -> Reply:
    """Alipay's notification arrives; the reply is what Alipay reads."""
    return service.vendor("alipay").reply(service.handle_notification("alipay", body, FORM))


def new_payment(service: PaymentService, amount: str = "25.50") -> Payment:
    order_id = unique("order-")
    orders = service.orders
    assert isinstance(orders, InMemoryOrders)
    orders.put(Order(id=order_id, buyer="alice", total=Decimal(amount), status="CREATED"))
    return service.create(ALICE, order_id=order_id, subject="Tea 茶", description="two boxes")


def open_and_pay(server: EmulatorServer, payment: Payment, **override: str) -> str:
    attempt = payment.attempts[-1]
    requests.get(payment.attempts[-1].order_string, timeout=5).raise_for_status()
    paid = requests.post(
        f"{server.url}/control/trades/{attempt.reference}/pay", json=override, timeout=5
    )
    paid.raise_for_status()
    return attempt.reference


FAULTS = [
    ("timeout", VendorUnavailable),
    ("500", VendorUnavailable),
    ("html", VendorError),
    ("bad-signature", SignatureInvalid),
    ("unsigned", SignatureInvalid),
    ("system-error", VendorUnavailable),
]


@pytest.mark.parametrize(("mode", "error"), FAULTS)
def test_a_verify_that_meets_a_vendor_fault_raises_and_changes_no_payment(
    service: PaymentService, server: EmulatorServer, mode: str, error: type[VendorError]
) -> None:
    payment = new_payment(service)
    open_and_pay(server, payment)
    retried = mode == "timeout"  # only transport faults are retried, and the retry fails too
    server.emulator.fail_next(mode, count=2 if retried else 1, seconds=1.0)

    with pytest.raises(error):
        service.verify(ALICE, payment.id or 0)

    assert service.get(ALICE, payment.id or 0) == payment
    assert service.verify(ALICE, payment.id or 0) is True
    assert service.get(ALICE, payment.id or 0).status is PaymentStatus.CONFIRMED


def test_a_refused_connection_changes_no_payment(
    service: PaymentService, gateway: AlipayGateway
) -> None:
    payment = new_payment(service)
    nowhere = AlipaySettings(
        **{**gateway.settings.__dict__, "gateway_url": "http://127.0.0.1:9/gateway.do"}
    )
    down = AlipayGateway(nowhere, timeouts=Timeouts(connect=0.5, retries=0))
    CLOSE_LATER.append(down)
    broken = PaymentService(
        repo=service.repo,
        vendors={"alipay": down},
        orders=service.orders,
        clock=service.clock,
        default_vendor="alipay",
    )

    with pytest.raises(VendorUnavailable):
        broken.verify(ALICE, payment.id or 0)

    assert service.get(ALICE, payment.id or 0) == payment


def test_the_emulators_notification_confirms_and_a_duplicate_is_acknowledged(
    service: PaymentService, server: EmulatorServer, shop: tuple[Shop, ServerThread]
) -> None:
    payment = new_payment(service)
    reference = open_and_pay(server, payment)
    (body,) = shop[0].wait_for(reference)

    first = notify(service, body)
    again = notify(service, body)

    assert (first.body, again.body) == ("success", "success")
    confirmed = service.get(ALICE, payment.id or 0)
    assert confirmed.status is PaymentStatus.CONFIRMED
    trade = server.emulator.trade(reference)
    assert trade is not None
    assert confirmed.vendor_trade_id == trade["trade_no"]


def test_a_forged_notification_is_refused_and_changes_nothing(
    service: PaymentService, server: EmulatorServer, shop: tuple[Shop, ServerThread]
) -> None:
    payment = new_payment(service, "25.50")
    reference = open_and_pay(server, payment)
    (body,) = shop[0].wait_for(reference)

    reply = notify(service, body.replace(b"25.50", b"0.01"))

    assert reply.body != "success"
    assert service.get(ALICE, payment.id or 0) == payment


@pytest.mark.parametrize("override", [{"total_amount": "0.01"}, {"seller_id": "2088000000000009"}])
def test_a_paid_trade_failing_the_business_checks_makes_the_payment_invalid(
    service: PaymentService,
    server: EmulatorServer,
    shop: tuple[Shop, ServerThread],
    override: dict[str, str],
) -> None:
    payment = new_payment(service)
    reference = open_and_pay(server, payment, **override)
    (body,) = shop[0].wait_for(reference)

    reply = notify(service, body)

    assert reply.body == "success"
    assert service.get(ALICE, payment.id or 0).status is PaymentStatus.INVALID


def test_alipay_sees_separators_full_width_while_the_payment_keeps_what_the_client_wrote(
    service: PaymentService, server: EmulatorServer, shop: tuple[Shop, ServerThread]
) -> None:
    order_id = unique("order-")
    orders = service.orders
    assert isinstance(orders, InMemoryOrders)
    orders.put(Order(id=order_id, buyer="alice", total=Decimal("9.90"), status="CREATED"))
    payment = service.create(
        ALICE, order_id=order_id, subject="Tea & cake = 2/3", description="a=b&c"
    )
    reference = open_and_pay(server, payment)
    (body,) = shop[0].wait_for(reference)

    reply = notify(service, body)

    trade = server.emulator.trade(reference)
    assert trade is not None
    assert (trade["subject"], trade["body"]) == (
        "Tea \uff06 cake \uff1d 2\uff0f3",
        "a\uff1db\uff06c",
    )
    stored = service.get(ALICE, payment.id or 0)
    assert (stored.subject, stored.description) == ("Tea & cake = 2/3", "a=b&c")
    assert reply.body == "success"
    assert stored.status is PaymentStatus.CONFIRMED
