"""The emulator's routes: the gateway, the cashier form and the JSON control API."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from payments_alipay import _emulator_limits as limits
from payments_alipay import _emulator_pages as pages
from payments_alipay._emulator_trades import TradeError

if TYPE_CHECKING:
    from starlette.requests import Request

    from payments_alipay.emulator import AlipayEmulator


def json_error(status: int, code: str, message: str) -> JSONResponse:
    """The control API's error body."""
    return JSONResponse({"error": {"code": code, "message": message}}, status)


async def _json_body(request: Request) -> dict[str, object]:
    """The JSON object of a control request; an empty body is ``{}``.

    Raises:
        limits.TooLarge: over 64 KiB.
        ValueError: not a JSON object (too deeply nested included).
    """
    raw = await limits.read_body(request)
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ValueError("the body is nested too deeply") from None
    if not isinstance(value, dict):
        raise ValueError("the body must be a JSON object")
    return value


def _refused(exc: Exception) -> Response:
    """The control API's answer to a request it cannot take."""
    if isinstance(exc, limits.TooLarge):
        return json_error(413, "payload_too_large", str(exc))
    if isinstance(exc, limits.Full):
        return json_error(409, "emulator_full", str(exc))
    return json_error(400, "invalid_request", str(exc))


_REFUSALS = (ValueError, limits.TooLarge, limits.Full)


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
            snapshot = emulator.pay(
                request.path_params["out_trade_no"],
                total_amount=limits.short_text(body, "total_amount"),
                seller_id=limits.short_text(body, "seller_id"),
            )
        except _REFUSALS as exc:
            return _refused(exc)
        except TradeError as exc:
            status = 404 if exc.sub_code == "ACQ.TRADE_NOT_EXIST" else 409
            return json_error(status, exc.sub_code, exc.message)
        return JSONResponse({"data": snapshot})

    async def fail_next(request: Request) -> Response:
        try:
            body = await _json_body(request)
            method = body.get("method")
            emulator.failures.add(
                str(body.get("mode")),
                count=body.get("count", 1),
                seconds=body.get("seconds", 2.0),
                method=None if method is None else str(method),
            )
        except _REFUSALS as exc:
            return _refused(exc)
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
