"""Serving an ASGI app (the emulator, or any test peer) with uvicorn in a thread on 127.0.0.1.

    with EmulatorServer(resend_factor=0.001) as server:
        settings = server.merchant_settings(app_id="2021000000000001", ...)
        gateway = AlipayGateway(AlipaySettings.from_settings(settings))
        ...
        server.emulator.pay(reference)

The port is ephemeral (the OS picks a free one), so tests can run side by side.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING, Self

import uvicorn

from payments_alipay.emulator.state import DEFAULT_SELLER_ID, AlipayEmulator, utc_now

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from types import TracebackType

    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from starlette.types import ASGIApp


class ServerThread:
    """uvicorn serving ``app`` on 127.0.0.1 and an ephemeral port, in a daemon thread."""

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            ws="none",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._serve, name=f"uvicorn-{self.port}", daemon=True
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` with no trailing slash."""
        return f"http://{self.host}:{self.port}"

    def _serve(self) -> None:
        self._server.run(sockets=[self._socket])

    def start(self, timeout: float = 10.0) -> None:
        """Start serving and wait until uvicorn accepts connections.

        Raises:
            RuntimeError: the server did not start in time.
        """
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server thread did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


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
