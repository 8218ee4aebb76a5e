"""The emulator's routes, relative to wherever its app is mounted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import Route

from payments_wechatpay.emulator.control import ControlHandlers
from payments_wechatpay.emulator.handlers import ApiHandlers
from payments_wechatpay.emulator.scan import ScanHandlers

if TYPE_CHECKING:
    from payments_wechatpay.emulator.state import WeChatPayEmulator

_TRADE = "/v3/pay/transactions/out-trade-no/{out_trade_no}"


def routes(emulator: WeChatPayEmulator) -> list[Route]:
    """Every route of one emulator: the API, the scan pages and the control API."""
    api, scan, control = ApiHandlers(emulator), ScanHandlers(emulator), ControlHandlers(emulator)
    return [
        Route("/v3/pay/transactions/native", api.native, methods=["POST"]),
        Route(_TRADE, api.query, methods=["GET"]),
        Route(f"{_TRADE}/close", api.close, methods=["POST"]),
        Route("/v3/refund/domestic/refunds", api.refund, methods=["POST"]),
        Route("/v3/refund/domestic/refunds/{out_refund_no}", api.refund_query, methods=["GET"]),
        Route("/", scan.index),
        Route("/scan/{code}", scan.page, methods=["GET"]),
        Route("/scan/{code}", scan.form, methods=["POST"]),
        Route("/control/transactions", control.list_transactions),
        Route("/control/transactions/{out_trade_no}", control.get_transaction),
        Route("/control/transactions/{out_trade_no}/pay", control.pay, methods=["POST"]),
        Route("/control/refunds", control.list_refunds),
        Route("/control/refunds/{out_refund_no}", control.get_refund),
        Route("/control/refunds/{out_refund_no}/finish", control.finish_refund, methods=["POST"]),
        Route("/control/refund-mode", control.refund_mode, methods=["POST"]),
        Route("/control/fail-next", control.fail_next, methods=["POST"]),
        Route("/control/reset", control.reset, methods=["POST"]),
        Route("/control/keys", control.keys),
    ]
