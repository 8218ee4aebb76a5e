"""The core's PaymentService with WeChatPayGateway and the stand-in WeChat Pay: a genuine
notification confirms once; a forged, stale, undecryptable or misaddressed one changes
nothing; a wrong amount makes the payment INVALID; a retry closes the unscanned order."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import responses
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from payments_core.inmemory import FrozenClock, InMemoryOrders, InMemoryPaymentRepository
from payments_core.payment import Payment, PaymentStatus
from payments_core.services import PaymentService
from payments_core.testing import unique
from payments_core.values import Caller, Order, Reply
from payments_wechatpay.gateway import WeChatPayGateway
from tests.wechatpay.conftest import Platform
from tests.wechatpay.fake_wechat import FakeWeChatPay

ALICE = Caller(username="alice", roles=["CUSTOMER"])


def short_reference(now: datetime) -> str:
    """A reference as the core makes one, within WeChat Pay's 32 characters.

    The core's own were 33 characters on this branch; the change that shortens them is
    another branch's, so these tests do not depend on it.
    """
    return now.strftime("P%Y%m%d%H%M%S") + secrets.token_hex(8) + "0"


@pytest.fixture
def wechat(platform: Platform, merchant_key: RSAPrivateKey) -> Iterator[FakeWeChatPay]:
    fake = FakeWeChatPay(platform, merchant_key.public_key())
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        yield fake


@pytest.fixture
def service(gateway: WeChatPayGateway, clock: FrozenClock, wechat: FakeWeChatPay) -> PaymentService:
    return PaymentService(
        repo=InMemoryPaymentRepository(),
        vendors={"wechatpay": gateway},
        orders=InMemoryOrders(),
        clock=clock,
        default_vendor="wechatpay",
        references=short_reference,
    )


def new_payment(service: PaymentService, amount: str = "25.50") -> Payment:
    order_id = unique("order-")
    orders = service.orders
    assert isinstance(orders, InMemoryOrders)
    orders.put(Order(id=order_id, buyer="alice", total=Decimal(amount), status="CREATED"))
    return service.create(ALICE, order_id=order_id, subject="Tea 茶", description="two boxes")


def notify(service: PaymentService, body: bytes, headers: dict[str, str]) -> Reply:
    outcome = service.handle_notification("wechatpay", body, headers)
    return service.vendor("wechatpay").reply(outcome)


def paid(wechat: FakeWeChatPay, payment: Payment) -> tuple[bytes, dict[str, str]]:
    reference = payment.attempts[-1].reference
    wechat.pay(reference)
    body, headers = wechat.notification(reference)
    return body, dict(headers)


def test_the_order_string_is_the_code_url(service: PaymentService) -> None:
    payment = new_payment(service)
    assert payment.attempts[-1].order_string.startswith("weixin://wxpay/bizpayurl?pr=")


def test_a_genuine_notification_confirms_and_a_resend_is_acknowledged(
    service: PaymentService, wechat: FakeWeChatPay
) -> None:
    payment = new_payment(service)
    body, headers = paid(wechat, payment)

    first, again = notify(service, body, headers), notify(service, body, headers)

    assert first == again == Reply(status=204, body="")
    confirmed = service.get(ALICE, payment.id or 0)
    assert confirmed.status is PaymentStatus.CONFIRMED
    assert (
        confirmed.vendor_trade_id == wechat.orders[payment.attempts[-1].reference]["transaction_id"]
    )


@pytest.mark.parametrize("fault", ["forged", "stale", "undecryptable", "other app", "unsigned"])
def test_a_bad_notification_is_refused_and_changes_nothing(
    service: PaymentService, wechat: FakeWeChatPay, clock: FrozenClock, fault: str
) -> None:
    payment = new_payment(service)
    body, headers = paid(wechat, payment)
    order = wechat.orders[payment.attempts[-1].reference]
    if fault == "forged":
        headers["wechatpay-signature"] = wechat.platform.headers(b"{}")["Wechatpay-Signature"]
    elif fault == "stale":
        clock.advance(timedelta(minutes=5, seconds=1))
    elif fault == "undecryptable":
        body, headers = wechat.platform.notification(order, apiv3_key=b"k" * 32)
    elif fault == "other app":
        body, headers = wechat.platform.notification({**order, "appid": "wx0000000000000000"})
    else:
        headers = {"content-type": "application/json"}

    reply = notify(service, body, headers)

    assert reply.status == 400
    assert service.get(ALICE, payment.id or 0) == payment


def test_a_paid_amount_that_differs_makes_the_payment_invalid(
    service: PaymentService, wechat: FakeWeChatPay
) -> None:
    payment = new_payment(service, "25.50")
    reference = payment.attempts[-1].reference
    wechat.pay(reference)
    wechat.orders[reference]["amount"] = {"total": 1, "currency": "CNY"}
    body, headers = wechat.notification(reference)

    reply = notify(service, body, dict(headers))

    assert reply.status == 204
    assert service.get(ALICE, payment.id or 0).status is PaymentStatus.INVALID


def test_verify_confirms_through_a_signed_query(
    service: PaymentService, wechat: FakeWeChatPay
) -> None:
    payment = new_payment(service)
    wechat.pay(payment.attempts[-1].reference)

    assert service.verify(ALICE, payment.id or 0) is True
    assert service.get(ALICE, payment.id or 0).status is PaymentStatus.CONFIRMED


def test_a_retry_closes_the_unscanned_order_so_its_code_cannot_be_paid(
    service: PaymentService, wechat: FakeWeChatPay
) -> None:
    payment = new_payment(service)
    old = payment.attempts[-1].reference

    retried = service.retry(ALICE, payment.id or 0)

    assert retried.attempts[-1].reference != old
    assert wechat.orders[old]["trade_state"] == "CLOSED"
    with pytest.raises(RuntimeError):
        wechat.pay(old)
