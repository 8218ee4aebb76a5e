"""The emulator's routes, relative to wherever its app is mounted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import Route

from payments_alipay.emulator.control import ControlHandlers
from payments_alipay.emulator.handlers import GatewayHandlers

if TYPE_CHECKING:
    from payments_alipay.emulator.state import AlipayEmulator


def routes(emulator: AlipayEmulator) -> list[Route]:
    """Every route of one emulator: the gateway, the cashier form and the control API."""
    gateway, control = GatewayHandlers(emulator), ControlHandlers(emulator)
    return [
        Route("/", gateway.index),
        Route("/gateway.do", gateway.gateway, methods=["GET", "POST"]),
        Route("/pay/{out_trade_no}", gateway.pay_form, methods=["POST"]),
        Route("/control/trades", control.list_trades),
        Route("/control/trades/{out_trade_no}", control.get_trade),
        Route("/control/trades/{out_trade_no}/pay", control.pay_trade, methods=["POST"]),
        Route("/control/fail-next", control.fail_next, methods=["POST"]),
        Route("/control/reset", control.reset, methods=["POST"]),
        Route("/control/keys", control.keys),
    ]
