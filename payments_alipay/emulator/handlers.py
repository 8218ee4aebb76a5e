"""What the merchant's server and the buyer's browser reach: the gateway and the cashier.

These handlers only read requests and render answers; the emulator does the rest.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from payments_alipay.emulator import limits, pages
from payments_alipay.emulator.faults import signed_fault
from payments_alipay.emulator.protocol import PAGE_METHODS, GatewayError, parse_params
from payments_alipay.emulator.trades import TradeError, cst

if TYPE_CHECKING:
    from starlette.requests import Request

    from payments_alipay.emulator.state import AlipayEmulator
    from payments_alipay.emulator.trades import Trade


def _refused(title: str, exc: GatewayError | TradeError, status: int) -> HTMLResponse:
    return HTMLResponse(pages.message(title, exc.message, code=exc.sub_code), status)


def json_answer(body: str) -> Response:
    """A gateway answer as Alipay labels it."""
    return Response(body, media_type="application/json;charset=utf-8")


class GatewayHandlers:
    """``/``, ``/gateway.do`` and the cashier's ``/pay/{out_trade_no}`` form of one emulator."""

    def __init__(self, emulator: AlipayEmulator) -> None:
        self.emulator = emulator

    async def index(self, request: Request) -> Response:
        """A list of the trades and their refunds, for a person looking."""
        with self.emulator.trades.lock:
            rows = "".join(pages.trade_row(t) for t in self.emulator.trades.all())
        return HTMLResponse(
            pages.page("Alipay emulator", f"<h1>Alipay emulator</h1><ul>{rows}</ul>")
        )

    async def gateway(self, request: Request) -> Response:
        """``/gateway.do``: page/WAP pay gives HTML, server calls give signed JSON."""
        try:
            body = await limits.read_bounded_body(request)
            params = parse_params(request.query_params.multi_items(), body)
        except limits.TooLarge as exc:
            return HTMLResponse(pages.message("Request refused", str(exc)), 413)
        except GatewayError as exc:
            return _refused("Request refused", exc, 400)
        if params.get("method") in PAGE_METHODS:
            return self._cashier(params)
        failure = self.emulator.failures.take(params.get("method", ""))
        if failure is not None:
            return await self._fault(params, *failure)
        return json_answer(self.emulator.answer_server_call(params))

    def _cashier(self, params: dict[str, str]) -> Response:
        try:
            trade = self.emulator.open_page(params)
        except (GatewayError, TradeError) as exc:
            return _refused("Payment refused", exc, 400)
        expires = cst(trade.time_expire) if trade.time_expire else None
        return HTMLResponse(pages.cashier(trade, expires))

    async def _fault(self, params: dict[str, str], mode: str, seconds: float) -> Response:
        """The answer of a server call that fails in ``mode`` (after ``seconds`` for a timeout).

        ``lost-answer`` alone processes the call first: its answer is lost on the way.
        """
        if mode == "lost-answer":
            self.emulator.answer_server_call(params)
            await asyncio.sleep(seconds)
            return PlainTextResponse("Gateway Timeout", 504)
        if mode == "timeout":
            await asyncio.sleep(seconds)
            return PlainTextResponse("Gateway Timeout", 504)
        if mode == "500":
            return PlainTextResponse("Internal Server Error", 500)
        if mode == "html":
            return HTMLResponse("<html><body><h1>系统繁忙 System busy</h1></body></html>")
        return json_answer(signed_fault(mode, params, self.emulator.platform_private_key))

    async def pay_form(self, request: Request) -> Response:
        """The cashier's Pay/Cancel form."""
        out_trade_no = request.path_params["out_trade_no"]
        action = await _form_action(request)
        trade = self.emulator.trades.get(out_trade_no)
        if trade is None:
            return HTMLResponse(
                pages.message("Unknown trade", "no such trade", code="ACQ.TRADE_NOT_EXIST"), 404
            )
        if action != "pay":
            text = "You cancelled; the trade stays open until it expires."
            return HTMLResponse(
                pages.message("Payment cancelled", text, link=trade.quit_url or trade.return_url)
            )
        try:
            self.emulator.pay(out_trade_no)
        except TradeError as exc:
            return _refused("Payment refused", exc, 409)
        return self._paid(trade)

    def _paid(self, trade: Trade) -> Response:
        """Back to ``return_url`` with the signed result, as Alipay sends the buyer."""
        if not trade.return_url:
            return HTMLResponse(
                pages.message("Payment complete", f"Paid {trade.total_amount} CNY.")
            )
        separator = "&" if "?" in trade.return_url else "?"
        query = self.emulator.return_query(trade)
        return RedirectResponse(f"{trade.return_url}{separator}{query}", 303)


async def _form_action(request: Request) -> str | None:
    """The cashier form's ``action``; an unreadable form counts as a cancel (nothing is paid)."""
    try:
        return parse_params([], await limits.read_bounded_body(request)).get("action")
    except (GatewayError, limits.TooLarge):
        return None
