"""The emulator's refunds as a third party sees them: python-alipay-sdk (fzlee/alipay), an
independent client, sends the requests and verifies the emulator's signatures its own way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
from alipay import AliPay  # type: ignore[import-untyped]  # python-alipay-sdk ships no types
from alipay.exceptions import AliPayValidationError  # type: ignore[import-untyped]  # as above
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from payments_alipay import AlipayGateway, AlipaySettings, Timeouts
from payments_alipay.emulator import EmulatorServer, ServerThread
from payments_core.inmemory import FrozenClock
from payments_core.money import Money
from payments_core.testing import unique
from payments_core.values import CheckoutRequest
from tests.alipay.conftest import APP_ID, read
from tests.alipay.emulator_fixtures import Shop

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(clock: FrozenClock) -> Iterator[EmulatorServer]:
    with EmulatorServer(
        platform_private_key=read("alipay_platform_private_key_pkcs8.pem"),
        resend_factor=0.0005,
        clock=clock.now,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(
    server: EmulatorServer,
    shop: tuple[Shop, ServerThread],
    app_key: RSAPrivateKey,
    clock: FrozenClock,
) -> Iterator[AlipayGateway]:
    raw = server.merchant_settings(app_id=APP_ID, private_key=app_key, public_url=shop[1].url)
    gateway = AlipayGateway(
        AlipaySettings.from_settings(raw), timeouts=Timeouts(retries=0), clock=clock.now
    )
    yield gateway
    gateway.close()


@pytest.fixture(scope="module")
def sdk(server: EmulatorServer, gateway: AlipayGateway) -> Any:
    client = AliPay(
        appid=APP_ID,
        app_private_key_string=read("app_private_key_pkcs8.pem"),
        alipay_public_key_string=read("alipay_platform_public_key.pem"),
        sign_type="RSA2",
    )
    client._gateway = gateway.settings.gateway_url  # the SDK has no setting for it
    return client


def paid_trade(gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock) -> str:
    reference = unique("S")
    request = CheckoutRequest(
        reference=reference,
        amount=Money.parse("20.00"),
        subject="tea",
        description=None,
        expires_at=clock.now() + timedelta(minutes=15),
    )
    server.emulator.open(gateway.open_checkout(request).order_string)
    server.emulator.pay(reference)
    return reference


def test_the_sdk_refunds_and_verifies_each_signed_answer(
    sdk: Any, gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock
) -> None:
    reference = paid_trade(gateway, server, clock)

    first = sdk.api_alipay_trade_refund("5.00", out_trade_no=reference, out_request_no="R1")
    repeat = sdk.api_alipay_trade_refund("5.00", out_trade_no=reference, out_request_no="R1")
    found = sdk.api_alipay_trade_fastpay_refund_query("R1", out_trade_no=reference)
    missing = sdk.api_alipay_trade_fastpay_refund_query("R9", out_trade_no=reference)

    assert (first["code"], first["fund_change"], first["refund_fee"]) == ("10000", "Y", "5.00")
    assert (repeat["fund_change"], repeat["refund_fee"]) == ("N", "5.00")
    assert (found["refund_status"], found["refund_amount"]) == ("REFUND_SUCCESS", "5.00")
    assert missing == {"code": "10000", "msg": "Success"}


def test_the_sdk_finds_a_trade_by_trade_no_alone(
    sdk: Any, gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock
) -> None:
    reference = paid_trade(gateway, server, clock)
    trade_no = gateway.query(reference).trade_id

    queried = sdk.api_alipay_trade_query(trade_no=trade_no)
    refunded = sdk.api_alipay_trade_refund("20.00", trade_no=trade_no, out_request_no="R1")
    found = sdk.api_alipay_trade_fastpay_refund_query("R1", trade_no=trade_no)

    assert (queried["out_trade_no"], queried["trade_status"]) == (reference, "TRADE_SUCCESS")
    assert refunded["fund_change"] == "Y"
    assert found["out_trade_no"] == reference
    assert sdk.api_alipay_trade_query(trade_no=trade_no)["trade_status"] == "TRADE_CLOSED"


def test_the_sdk_verifies_the_refund_notifications(
    sdk: Any,
    gateway: AlipayGateway,
    server: EmulatorServer,
    clock: FrozenClock,
    shop: tuple[Shop, ServerThread],
) -> None:
    reference = paid_trade(gateway, server, clock)
    sdk.api_alipay_trade_refund("5.00", out_trade_no=reference, out_request_no="R1")
    sdk.api_alipay_trade_refund("15.00", out_trade_no=reference, out_request_no="R2")

    _, partial, full = shop[0].wait_for(reference, 3)

    for body, status, fee, number in (
        (partial, "TRADE_SUCCESS", "5.00", "R1"),
        (full, "TRADE_CLOSED", "20.00", "R2"),
    ):
        fields = dict(parse_qsl(body.decode()))
        sign = fields.pop("sign")
        assert sdk.verify(fields, sign)
        assert (fields["trade_status"], fields["refund_fee"], fields["out_biz_no"]) == (
            status,
            fee,
            number,
        )
        assert fields["gmt_refund"]


def test_the_sdk_refuses_a_refund_answer_whose_signature_is_wrong(
    sdk: Any, gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock
) -> None:
    """The answers above verified because they are signed right, not because nothing is checked."""
    reference = paid_trade(gateway, server, clock)
    fault = {"mode": "bad-signature", "method": "alipay.trade.refund"}
    assert requests.post(f"{server.url}/control/fail-next", json=fault, timeout=5).ok

    with pytest.raises(AliPayValidationError):
        sdk.api_alipay_trade_refund("5.00", out_trade_no=reference, out_request_no="R1")
