"""The emulator's ASGI app: its routes, and JSON errors for paths and methods it does not serve."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from payments_alipay.emulator.control import json_error
from payments_alipay.emulator.routes import routes

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from payments_alipay.emulator.state import AlipayEmulator

_HTTP_CODES: Final = {404: "not_found", 405: "method_not_allowed"}


def build_app(emulator: AlipayEmulator) -> Starlette:
    """The app serving ``emulator``, which it keeps as ``app.state.emulator``."""
    app = Starlette(routes=routes(emulator), exception_handlers={HTTPException: _http_exception})
    # No path is answered by a redirect: Starlette would build its Location from the
    # request's Host header, and "/control/trades/" names nothing here (404).
    app.router.redirect_slashes = False
    app.state.emulator = emulator
    return app


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for this type
    code = _HTTP_CODES.get(exc.status_code, "invalid_request")
    message = "no such resource" if exc.status_code == 404 else str(exc.detail)
    return json_error(exc.status_code, code, message, **(exc.headers or {}))
