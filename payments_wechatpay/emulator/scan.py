"""What the buyer's browser reaches: the index and the scan page of each code_url."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.responses import HTMLResponse, Response

from payments_vendorkit.emulation import limits
from payments_wechatpay.emulator import pages
from payments_wechatpay.emulator.errors import WeChatError
from payments_wechatpay.emulator.fields import rfc3339

if TYPE_CHECKING:
    from starlette.requests import Request

    from payments_wechatpay.emulator.state import WeChatPayEmulator


def _unknown() -> HTMLResponse:
    return HTMLResponse(
        pages.message("Unknown code", "no such code_url", code="ORDER_NOT_EXIST"), 404
    )


class ScanHandlers:
    """``/``, and ``/scan/{code}`` (the page, and its Pay/Cancel form) of one emulator."""

    def __init__(self, emulator: WeChatPayEmulator) -> None:
        self.emulator = emulator

    async def index(self, request: Request) -> Response:
        """A list of the transactions, for a person looking."""
        return HTMLResponse(pages.index(self.emulator.book.all()))

    async def page(self, request: Request) -> Response:
        """The code as a QR code, with Pay and Cancel."""
        with self.emulator.book.lock:
            trade = self.emulator.book.by_code(request.path_params["code"])
            if trade is None:
                return _unknown()
            expires = rfc3339(trade.time_expire) if trade.time_expire else None
            return HTMLResponse(pages.scan(trade, expires))

    async def form(self, request: Request) -> Response:
        """Pay or cancel; an unreadable form counts as a cancel (nothing is paid)."""
        trade = self.emulator.book.by_code(request.path_params["code"])
        if trade is None:
            return _unknown()
        if await _form_action(request) != "pay":
            text = "You cancelled; the order stays open until it is closed or expires."
            return HTMLResponse(pages.message("Payment cancelled", text))
        try:
            snapshot = self.emulator.pay(trade.out_trade_no)
        except WeChatError as exc:
            return HTMLResponse(pages.message("Payment refused", exc.message, code=exc.code), 409)
        total = snapshot["amount"]
        assert isinstance(total, dict)  # noqa: S101 - resource() always gives an object
        fen = int(total["payer_total"])
        return HTMLResponse(
            pages.message("Payment complete", f"Paid {fen // 100}.{fen % 100:02d} CNY.")
        )


async def _form_action(request: Request) -> str | None:
    try:
        raw = await limits.read_bounded_body(request)
        return dict(parse_qsl(raw.decode("utf-8"), errors="strict")).get("action")
    except (UnicodeDecodeError, ValueError, limits.TooLarge):
        return None
