"""The WeChat Pay emulator served over real HTTP on 127.0.0.1 by ``ServerThread``.

with EmulatorServer(resend_factor=0.001) as server:
    settings = server.merchant_settings(mchid="1900000109", appid="wx...", private_key=key)
    ...
    server.emulator.pay(out_trade_no)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from payments_vendorkit.emulation.server import ServerThread
from payments_wechatpay.emulator.state import WeChatPayEmulator, utc_now

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey


class EmulatorServer(ServerThread):
    """A WeChatPayEmulator served over real HTTP, with a helper to configure a merchant."""

    def __init__(
        self,
        *,
        emulator: WeChatPayEmulator | None = None,
        resend_factor: float = 0.001,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.emulator = emulator or WeChatPayEmulator(
            resend_factor=resend_factor, clock=clock or utc_now
        )
        super().__init__(self.emulator.app)

    def stop(self) -> None:
        """Stop serving and the notification thread."""
        super().stop()
        self.emulator.shutdown()

    def merchant_settings(
        self,
        *,
        mchid: str,
        appid: str,
        private_key: RSAPrivateKey,
        public_url: str = "http://127.0.0.1:9",
        **extra: str,
    ) -> dict[str, str]:
        """Register the merchant; return the ``WECHATPAY_*`` settings that reach this emulator.

        ``public_url`` is the merchant's ``PAYMENTS_PUBLIC_URL`` (where notifications go).
        """
        settings = self.emulator.merchant_settings(
            mchid=mchid, appid=appid, private_key=private_key, gateway_url=self.url
        )
        return settings | {"PAYMENTS_PUBLIC_URL": public_url, **extra}
