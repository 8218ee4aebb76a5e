"""The emulator's ASGI app: its routes, with the emulator kept as ``app.state.emulator``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette

from payments_alipay.emulator.routes import routes

if TYPE_CHECKING:
    from payments_alipay.emulator.state import AlipayEmulator


def build_app(emulator: AlipayEmulator) -> Starlette:
    """The app serving ``emulator``, which it keeps as ``app.state.emulator``."""
    app = Starlette(routes=routes(emulator))
    app.state.emulator = emulator
    return app
