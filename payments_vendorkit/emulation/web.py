"""The HTTP side every emulator shares: its app with JSON errors, control bodies, plain faults.

The control API's errors are ``{"error": {"code", "message"}}``; no path is answered by a
redirect, and unknown paths and methods are JSON errors too.
"""

from __future__ import annotations

import asyncio
import json
from html import escape
from typing import TYPE_CHECKING, Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from payments_vendorkit.emulation import limits

if TYPE_CHECKING:
    from collections.abc import Sequence

    from starlette.requests import Request
    from starlette.routing import BaseRoute

_HTTP_CODES: Final = {404: "not_found", 405: "method_not_allowed"}
REFUSALS: Final = (ValueError, limits.TooLarge, limits.Full)
"""What a control handler turns into a 4xx with ``refused``."""


def build_app(routes: Sequence[BaseRoute], emulator: object) -> Starlette:
    """The app serving ``routes``; it keeps ``emulator`` as ``app.state.emulator``."""
    app = Starlette(routes=list(routes), exception_handlers={HTTPException: _http_exception})
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


def json_error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    """The control API's error body."""
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=headers)


async def json_body(request: Request) -> dict[str, object]:
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


def refused(exc: Exception) -> Response:
    """The control API's answer to a request it cannot take (one of ``REFUSALS``)."""
    if isinstance(exc, limits.TooLarge):
        return json_error(413, "payload_too_large", str(exc))
    if isinstance(exc, limits.Full):
        return json_error(409, "emulator_full", str(exc))
    return json_error(400, "invalid_request", str(exc))


async def plain_fault(mode: str, seconds: float) -> Response | None:
    """The answer of a fault no vendor signs: ``timeout`` (after ``seconds``), ``500``, ``html``.

    None for any other mode: the emulator signs that one itself.
    """
    if mode == "timeout":
        await asyncio.sleep(seconds)
        return PlainTextResponse("Gateway Timeout", 504)
    if mode == "500":
        return PlainTextResponse("Internal Server Error", 500)
    if mode == "html":
        return HTMLResponse("<html><body><h1>系统繁忙 System busy</h1></body></html>")
    return None


def html_page(title: str, content: str, style: str) -> str:
    """A whole HTML document: ``content`` (already escaped) under ``title``, styled inline."""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{style}</style></head><body>{content}</body></html>"
    )
