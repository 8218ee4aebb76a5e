"""The JSON control API (``/control/...``): what a test or a person does in Alipay's place.

These handlers only read requests and render answers; the emulator does the rest. Every
error body is ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response

from payments_alipay.emulator import limits
from payments_alipay.emulator.trades import TradeError

if TYPE_CHECKING:
    from starlette.requests import Request

    from payments_alipay.emulator.state import AlipayEmulator

_REFUSALS = (ValueError, limits.TooLarge, limits.Full)


def json_error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    """The control API's error body."""
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=headers)


async def _json_body(request: Request) -> dict[str, object]:
    """The JSON object of a control request; an empty body is ``{}``.

    Raises:
        limits.TooLarge: over 64 KiB.
        ValueError: not a JSON object (too deeply nested included).
    """
    raw = await limits.read_bounded_body(request)
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


class ControlHandlers:
    """The control API of one emulator."""

    def __init__(self, emulator: AlipayEmulator) -> None:
        self.emulator = emulator

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
            body = await _json_body(request)
            snapshot = self.emulator.pay(
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

    async def fail_next(self, request: Request) -> Response:
        """Queue failures for the next server calls."""
        try:
            body = await _json_body(request)
            method = body.get("method")
            self.emulator.failures.add(
                str(body.get("mode")),
                count=body.get("count", 1),
                seconds=body.get("seconds", 2.0),
                method=None if method is None else str(method),
            )
        except _REFUSALS as exc:
            return _refused(exc)
        return JSONResponse({"data": {"queued": True}})

    async def reset(self, request: Request) -> Response:
        """Forget trades, pending failures and resends."""
        self.emulator.reset()
        return JSONResponse({"data": {"reset": True}})

    async def keys(self, request: Request) -> Response:
        """The platform public key."""
        return JSONResponse({"data": self.emulator.keys_view()})
