"""The core's vendor contract suite on WeChatPayGateway, against the stand-in WeChat Pay of
``fake_wechat`` (the emulator, once it exists, makes it run over real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from payments_core.inmemory import FrozenClock
from payments_core.ports import VendorGateway
from payments_core.testing import Buyer, VendorContract
from payments_wechatpay.gateway import WeChatPayGateway
from tests.wechatpay.conftest import Platform
from tests.wechatpay.fake_wechat import FakeWeChatPay


@pytest.fixture
def buyer(platform: Platform, merchant_key: RSAPrivateKey) -> Iterator[FakeWeChatPay]:
    fake = FakeWeChatPay(platform, merchant_key.public_key())
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        yield fake


@pytest.fixture
def vendor(gateway: WeChatPayGateway, buyer: FakeWeChatPay) -> VendorGateway:
    return gateway


class TestWeChatPayGateway(VendorContract):
    @pytest.mark.xfail(
        reason=(
            "the suite tampers by replacing the amount's text in the body, but a WeChat Pay "
            "notification carries the amount only inside its encrypted resource; "
            "tests/wechatpay/test_wechatpay_notifications.py tampers with it there"
        ),
        strict=True,
    )
    def test_a_tampered_notification_is_refused(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        super().test_a_tampered_notification_is_refused(vendor, buyer, clock)
