"""The Alipay emulator served over real HTTP by ``ServerThread`` (re-exported here for tests).

with EmulatorServer(resend_factor=0.001) as server:
    settings = server.merchant_settings(app_id="2021000000000001", ...)
    gateway = AlipayGateway(AlipaySettings.from_settings(settings))
    ...
    server.emulator.pay(reference)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from payments_alipay.emulator.state import DEFAULT_SELLER_ID, AlipayEmulator, utc_now
from payments_vendorkit.emulation.server import ServerThread

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey


__all__ = ["EmulatorServer", "ServerThread"]


class EmulatorServer(ServerThread):
    """An AlipayEmulator served over real HTTP, with helpers to configure a merchant."""

    def __init__(
        self,
        *,
        emulator: AlipayEmulator | None = None,
        resend_factor: float = 0.001,
        platform_private_key: RSAPrivateKey | str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.emulator = emulator or AlipayEmulator(
            resend_factor=resend_factor,
            platform_private_key=platform_private_key,
            clock=clock or utc_now,
        )
        super().__init__(self.emulator.app)

    @property
    def gateway_url(self) -> str:
        """The emulator's ``gateway.do`` URL, for ``ALIPAY_GATEWAY``."""
        return f"{self.url}/gateway.do"

    def stop(self) -> None:
        """Stop serving and the notification thread."""
        super().stop()
        self.emulator.shutdown()

    def merchant_settings(
        self,
        *,
        app_id: str,
        private_key: RSAPrivateKey,
        public_url: str = "http://127.0.0.1:9",
        seller_id: str | None = DEFAULT_SELLER_ID,
        **extra: str,
    ) -> dict[str, str]:
        """Register the merchant and return the ``ALIPAY_*`` settings that reach this emulator.

        ``public_url`` is the merchant's ``PAYMENTS_PUBLIC_URL`` (where notifications go).
        """
        settings = self.emulator.merchant_settings(
            app_id=app_id,
            private_key=private_key,
            gateway_url=self.gateway_url,
            seller_id=seller_id,
        )
        settings |= {"PAYMENTS_PUBLIC_URL": public_url, **extra}
        return settings
