"""The JSON control API (``/control/...``): what a test or a person does in WeChat Pay's place.

These handlers only read requests and render answers; the emulator does the rest. Every
error body is ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response

from payments_vendorkit.emulation import limits
from payments_vendorkit.emulation.control import ControlBase
from payments_vendorkit.emulation.web import REFUSALS, json_body, json_error, refused
from payments_wechatpay.emulator.errors import WeChatError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from starlette.requests import Request

    from payments_wechatpay.emulator.state import WeChatPayEmulator


def _wechat_error(exc: WeChatError) -> Response:
    status = 404 if exc.status == 404 else 409
    return json_error(status, exc.code, exc.message)


def _optional_fen(body: Mapping[str, object], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**12:
        raise ValueError(f"{name} must be a whole number of fen from 0 to 10^12")
    return value


class ControlHandlers(ControlBase):
    """The control API of one emulator (``fail-next``, ``reset`` and ``keys`` are shared)."""

    emulator: WeChatPayEmulator

    async def list_transactions(self, request: Request) -> Response:
        """Every transaction with its notification history."""
        with self.emulator.book.lock:
            return JSONResponse({"data": [t.snapshot() for t in self.emulator.book.all()]})

    async def get_transaction(self, request: Request) -> Response:
        """One transaction, or 404."""
        snapshot = self.emulator.transaction(request.path_params["out_trade_no"])
        if snapshot is None:
            return json_error(404, "ORDER_NOT_EXIST", "no such transaction")
        return JSONResponse({"data": snapshot})

    async def pay(self, request: Request) -> Response:
        """Pay as the buyer; ``payer_total``, ``mchid`` and ``appid`` fake what is reported,
        ``notification`` forges the notification."""
        try:
            body = await json_body(request)
            snapshot = self.emulator.pay(
                request.path_params["out_trade_no"],
                payer_total=_optional_fen(body, "payer_total"),
                mchid=limits.short_text(body, "mchid"),
                appid=limits.short_text(body, "appid"),
                notification=limits.short_text(body, "notification"),
            )
        except REFUSALS as exc:
            return refused(exc)
        except WeChatError as exc:
            return _wechat_error(exc)
        return JSONResponse({"data": snapshot})

    async def list_refunds(self, request: Request) -> Response:
        """Every refund with its notification history."""
        with self.emulator.book.lock:
            return JSONResponse({"data": [r.snapshot() for r in self.emulator.book.refunds()]})

    async def get_refund(self, request: Request) -> Response:
        """One refund, or 404."""
        with self.emulator.book.lock:
            refund = self.emulator.book.refund(request.path_params["out_refund_no"])
            if refund is None:
                return json_error(404, "RESOURCE_NOT_EXISTS", "no such refund")
            return JSONResponse({"data": refund.snapshot()})

    async def finish_refund(self, request: Request) -> Response:
        """Settle a PROCESSING refund: JSON ``{"status": "SUCCESS"|"CLOSED"|"ABNORMAL"}``."""
        try:
            body = await json_body(request)
            snapshot = self.emulator.finish_refund(
                request.path_params["out_refund_no"], str(body.get("status", "SUCCESS"))
            )
        except REFUSALS as exc:
            return refused(exc)
        except WeChatError as exc:
            return _wechat_error(exc)
        return JSONResponse({"data": snapshot})

    async def refund_mode(self, request: Request) -> Response:
        """What new refunds answer: JSON ``{"status": "SUCCESS"|"PROCESSING"}``."""
        try:
            body = await json_body(request)
            self.emulator.set_refund_mode(str(body.get("status")))
        except REFUSALS as exc:
            return refused(exc)
        return JSONResponse({"data": {"status": self.emulator.refund_mode}})
