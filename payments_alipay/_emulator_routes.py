"""The emulator's routes: the gateway, the cashier form and the JSON control API."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from payments_alipay import _emulator_pages as pages
from payments_alipay._emulator_trades import TradeError

if TYPE_CHECKING:
    from starlette.requests import Request

    from payments_alipay.emulator import AlipayEmulator


def json_error(status: int, code: str, message: str) -> JSONResponse:
    """The control API's error body."""
    return JSONResponse({"error": {"code": code, "message": message}}, status)


async def _json_body(request: Request) -> dict[str, object]:
    raw = await request.body()
    if not raw.strip():
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("the body must be a JSON object")
    return value


def routes(emulator: AlipayEmulator) -> list[Route]:
    """Every route of one emulator, relative to where it is mounted."""

    async def index(request: Request) -> Response:
        rows = "".join(
            f"<li>{t.out_trade_no}: {t.status} {t.total_amount} CNY</li>"
            for t in emulator.trades.all()
        )
        return HTMLResponse(
            pages.page("Alipay emulator", f"<h1>Alipay emulator</h1><ul>{rows}</ul>")
        )

    async def list_trades(request: Request) -> Response:
        return JSONResponse({"data": [t.snapshot() for t in emulator.trades.all()]})

    async def get_trade(request: Request) -> Response:
        snapshot = emulator.trade(request.path_params["out_trade_no"])
        if snapshot is None:
            return json_error(
                404, "ACQ.TRADE_NOT_EXIST", "no such trade (the buyer never opened it)"
            )
        return JSONResponse({"data": snapshot})

    async def pay_trade(request: Request) -> Response:
        try:
            body = await _json_body(request)
            amount, seller = body.get("total_amount"), body.get("seller_id")
            snapshot = emulator.pay(
                request.path_params["out_trade_no"],
                total_amount=str(amount) if amount is not None else None,
                seller_id=str(seller) if seller is not None else None,
            )
        except ValueError as exc:
            return json_error(400, "invalid_request", str(exc))
        except TradeError as exc:
            status = 404 if exc.sub_code == "ACQ.TRADE_NOT_EXIST" else 409
            return json_error(status, exc.sub_code, exc.message)
        return JSONResponse({"data": snapshot})

    async def fail_next(request: Request) -> Response:
        try:
            body = await _json_body(request)
            method = body.get("method")
            emulator.fail_next(
                str(body.get("mode")),
                count=int(str(body.get("count", 1))),
                seconds=float(str(body.get("seconds", 2.0))),
                method=str(method) if method else None,
            )
        except ValueError as exc:
            return json_error(400, "invalid_request", str(exc))
        return JSONResponse({"data": {"queued": True}})

    async def reset(request: Request) -> Response:
        emulator.reset()
        return JSONResponse({"data": {"reset": True}})

    async def keys(request: Request) -> Response:
        return JSONResponse({"data": emulator.keys_view()})

    return [
        Route("/", index),
        Route("/gateway.do", emulator.handle_gateway, methods=["GET", "POST"]),
        Route("/pay/{out_trade_no}", emulator.handle_pay_form, methods=["POST"]),
        Route("/control/trades", list_trades),
        Route("/control/trades/{out_trade_no}", get_trade),
        Route("/control/trades/{out_trade_no}/pay", pay_trade, methods=["POST"]),
        Route("/control/fail-next", fail_next, methods=["POST"]),
        Route("/control/reset", reset, methods=["POST"]),
        Route("/control/keys", keys),
    ]
