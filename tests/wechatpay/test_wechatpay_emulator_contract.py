"""The core's vendor contract suite on WeChatPayGateway against the emulator, over real HTTP.

The buyer pays through the emulator's control API, and the notification is the one the
emulator really POSTed to the shop: found by decrypting what arrived.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from payments_core.inmemory import FrozenClock
from payments_core.ports import VendorGateway
from payments_core.testing import Buyer, VendorContract
from payments_vendorkit.emulation.server import ServerThread
from payments_wechatpay import crypto
from payments_wechatpay.emulator import EmulatorServer
from payments_wechatpay.gateway import WeChatPayGateway
from payments_wechatpay.settings import WeChatPaySettings
from tests.wechatpay.emulator_support import APPID, MCHID, Receiver, merchant_key, receiver

pytestmark = pytest.mark.integration
__all__ = ["merchant_key", "receiver"]  # fixtures


@pytest.fixture(scope="module")
def shared_clock() -> FrozenClock:
    # the real second: the emulator refuses a time_expire in its past
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def clock(shared_clock: FrozenClock) -> FrozenClock:
    return shared_clock


@pytest.fixture(scope="module")
def server(shared_clock: FrozenClock) -> Iterator[EmulatorServer]:
    with EmulatorServer(resend_factor=0.001, clock=shared_clock.now) as running:
        yield running


@pytest.fixture(scope="module")
def settings(
    server: EmulatorServer, merchant_key: RSAPrivateKey, receiver: tuple[Receiver, ServerThread]
) -> dict[str, str]:
    raw = server.merchant_settings(
        mchid=MCHID, appid=APPID, private_key=merchant_key, public_url=receiver[1].url
    )
    return {**raw, "PAYMENTS_NOTIFY_PATH": "/notify/{vendor}"}


class EmulatorBuyer:
    """Pays through the control API; finds the notification the shop got for an attempt."""

    def __init__(self, server: EmulatorServer, shop: Receiver, apiv3_key: str) -> None:
        self.server, self.shop, self.apiv3_key = server, shop, apiv3_key.encode("ascii")

    def pay(self, reference: str) -> None:
        answer = requests.post(f"{self.server.url}/control/transactions/{reference}/pay", timeout=5)
        answer.raise_for_status()

    def notification(self, reference: str) -> tuple[bytes, Mapping[str, str]]:
        for count in range(1, 100):
            received = self.shop.wait_for(count)[-1]
            resource = json.loads(received.body)["resource"]
            plain = crypto.decrypt_resource(
                self.apiv3_key,
                resource["ciphertext"],
                resource["nonce"],
                resource["associated_data"],
            )
            if json.loads(plain)["out_trade_no"] == reference:
                return received.body, {k.lower(): v for k, v in received.headers.items()}
        raise AssertionError(f"no notification for {reference}")


@pytest.fixture
def buyer(
    server: EmulatorServer, receiver: tuple[Receiver, ServerThread], settings: dict[str, str]
) -> Iterator[EmulatorBuyer]:
    receiver[0].clear()
    yield EmulatorBuyer(server, receiver[0], settings["WECHATPAY_APIV3_KEY"])
    receiver[0].clear()


@pytest.fixture
def vendor(settings: dict[str, str], buyer: EmulatorBuyer) -> Iterator[VendorGateway]:
    gateway = WeChatPayGateway(WeChatPaySettings.from_settings(settings))
    yield gateway
    gateway.close()


class TestWeChatPayGatewayOnTheEmulator(VendorContract):
    @pytest.mark.xfail(
        reason=(
            "the suite tampers by replacing the amount's text in the body, but a WeChat Pay "
            "notification carries the amount only inside its encrypted resource; "
            "test_wechatpay_emulator_gateway.py sends forged and undecryptable ones"
        ),
        strict=True,
    )
    def test_a_tampered_notification_is_refused(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        super().test_a_tampered_notification_is_refused(vendor, buyer, clock)
