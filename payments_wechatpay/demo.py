"""The WeChat Pay part of ``payments serve --demo``: the emulator as the gateway, and seed orders.

The emulator is mounted in the demo server itself under ``/wechatpay``, with a generated
key pair for the merchant, one for its stand-in of WeChat Pay and a generated APIv3
key; nothing is kept between runs.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from cryptography.hazmat.primitives.asymmetric import rsa

from payments_core.contributions import DemoVendor
from payments_core.values import Order
from payments_wechatpay.emulator import WeChatPayEmulator

MCHID: Final = "1900000109"
APPID: Final = "wxd678efh567hg6787"
MOUNT_PATH: Final = "/wechatpay"


def demo_vendor(public_url: str, buyer: str) -> DemoVendor:
    """The emulator under ``/wechatpay``, the ``WECHATPAY_*`` settings that reach it, and orders.

    ``buyer`` owns two payable orders, ``WX-3001`` and ``WX-3002``; any demo order can
    be paid with either vendor.
    """
    emulator = WeChatPayEmulator()
    settings = emulator.merchant_settings(
        mchid=MCHID,
        appid=APPID,
        private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        gateway_url=f"{public_url}{MOUNT_PATH}",
    )
    return DemoVendor(
        vendor="wechatpay",
        settings=settings,
        orders=(
            Order(id="WX-3001", buyer=buyer, total=Decimal("12.80"), status="CREATED"),
            Order(id="WX-3002", buyer=buyer, total=Decimal("0.01"), status="CREATED"),
        ),
        mount_path=MOUNT_PATH,
        app=emulator.app,
        pay_page=lambda code_url: f"{public_url}{MOUNT_PATH}/scan/{code_url.rsplit('pr=', 1)[-1]}",
        notes=[
            f"WeChat Pay emulator  {public_url}{MOUNT_PATH}/  (scan pages of the code_urls;"
            f" a local stand-in for WeChat Pay)"
        ],
        stop=emulator.shutdown,
    )
