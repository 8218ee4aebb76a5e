"""The Alipay part of ``payments serve --demo``: the emulator as the gateway, and seed orders.

The emulator is mounted in the demo server itself, with a generated key pair for the
merchant and one for its stand-in of Alipay; nothing is kept between runs.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from cryptography.hazmat.primitives.asymmetric import rsa

from payments_alipay.emulator import AlipayEmulator
from payments_alipay.keys import MIN_KEY_BITS
from payments_core.contributions import DemoVendor
from payments_core.values import Order

APP_ID: Final = "2021000000000001"
MOUNT_PATH: Final = "/emulator"
RETURN_PATH: Final = "/api/v1/payments/return/alipay"  # the server's buyer-return handler
OTHER_BUYER: Final = "bob"


def demo_vendor(public_url: str, buyer: str) -> DemoVendor:
    """The emulator under ``/emulator``, the ``ALIPAY_*`` settings that reach it, and orders.

    ``buyer`` owns three payable orders (``DEMO-1001`` to ``DEMO-1003``) and a paid one;
    ``DEMO-2001`` belongs to someone else.
    """
    emulator = AlipayEmulator()
    app_key = rsa.generate_private_key(public_exponent=65537, key_size=MIN_KEY_BITS)
    settings = emulator.merchant_settings(
        app_id=APP_ID,
        private_key=app_key,
        gateway_url=f"{public_url}{MOUNT_PATH}/gateway.do",
        seller_id=emulator.seller_id,
    )
    settings = {**settings, "ALIPAY_RETURN_URL": f"{public_url}{RETURN_PATH}"}
    console = f"{public_url}{MOUNT_PATH}/control/trades"
    return DemoVendor(
        vendor="alipay",
        settings=settings,
        orders=_orders(buyer),
        mount_path=MOUNT_PATH,
        app=emulator.app,
        notes=[f"Alipay emulator  {console}  (a local stand-in for Alipay)"],
        stop=emulator.shutdown,
    )


def _orders(buyer: str) -> tuple[Order, ...]:
    return (
        Order(id="DEMO-1001", buyer=buyer, total=Decimal("88.88"), status="CREATED"),
        Order(id="DEMO-1002", buyer=buyer, total=Decimal("1000.12"), status="CREATED"),
        Order(id="DEMO-1003", buyer=buyer, total=Decimal("0.30"), status="CREATED"),
        Order(id="DEMO-1004", buyer=buyer, total=Decimal("19.90"), status="PAID"),
        Order(id="DEMO-2001", buyer=OTHER_BUYER, total=Decimal("5.00"), status="CREATED"),
    )
