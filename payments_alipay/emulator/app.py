"""The emulator's ASGI app: its routes, and JSON errors for paths and methods it does not serve."""

from __future__ import annotations

from typing import TYPE_CHECKING

from payments_alipay.emulator.routes import routes
from payments_vendorkit.emulation.web import build_app as build_emulator_app

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from payments_alipay.emulator.state import AlipayEmulator


def build_app(emulator: AlipayEmulator) -> Starlette:
    """The app serving ``emulator``, which it keeps as ``app.state.emulator``."""
    return build_emulator_app(routes(emulator), emulator)
