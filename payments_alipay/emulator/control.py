"""The JSON control API (``/control/...``): what a test or a person does in Alipay's place.

These handlers only read requests and render answers; the emulator does the rest. Every
error body is ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response

from payments_alipay.emulator.trades import TradeError
from payments_vendorkit.emulation import limits
from payments_vendorkit.emulation.control import ControlBase
from payments_vendorkit.emulation.web import REFUSALS, json_body, json_error, refused

if TYPE_CHECKING:
    from starlette.requests import Request

    from payments_alipay.emulator.state import AlipayEmulator


class ControlHandlers(ControlBase):
    """The control API of one emulator (``fail-next``, ``reset`` and ``keys`` are shared)."""

    emulator: AlipayEmulator

    async def list_trades(self, request: Request) -> Response:
        """Every trade with its notification history."""
        return JSONResponse({"data": [t.snapshot() for t in self.emulator.trades.all()]})

    async def get_trade(self, request: Request) -> Response:
        """One trade, or 404 when the buyer never opened it."""
        snapshot = self.emulator.trade(request.path_params["out_trade_no"])
        if snapshot is None:
            return json_error(
                404, "ACQ.TRADE_NOT_EXIST", "no such trade (the buyer never opened it)"
            )
        return JSONResponse({"data": snapshot})

    async def pay_trade(self, request: Request) -> Response:
        """Pay as the buyer; ``total_amount`` and ``seller_id`` fake what is reported."""
        try:
            body = await json_body(request)
            snapshot = self.emulator.pay(
                request.path_params["out_trade_no"],
                total_amount=limits.short_text(body, "total_amount"),
                seller_id=limits.short_text(body, "seller_id"),
            )
        except REFUSALS as exc:
            return refused(exc)
        except TradeError as exc:
            status = 404 if exc.sub_code == "ACQ.TRADE_NOT_EXIST" else 409
            return json_error(status, exc.sub_code, exc.message)
        return JSONResponse({"data": snapshot})
