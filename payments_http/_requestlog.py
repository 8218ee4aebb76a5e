"""One structured log line per request, with a request id; pure ASGI, no body buffering.

Logged: request id, method, path (never the query string), status, duration and the
authenticated username. Never a token, a key, a body or an order string.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("payments_http.access")
_INCOMING_ID: Final = re.compile(rb"^[A-Za-z0-9._-]{8,64}$")
HEADER: Final = b"x-request-id"


class RequestLog:
    """ASGI middleware: assigns ``scope["state"]["request_id"]`` and logs each request once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "request_id=%s method=%s path=%s status=%d duration_ms=%.1f user=%s",
                    request_id,
                    scope["method"],
                    _safe_path(scope.get("path", "")),
                    status,
                    (time.perf_counter() - started) * 1000,
                    str(scope["state"].get("user", "-")),
                )


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == HEADER and _INCOMING_ID.match(value):
            return bytes(value).decode()
    return secrets.token_hex(8)


def _safe_path(path: str) -> str:
    """The path, quoted so that a client cannot forge log fields; at most 200 characters."""
    cleaned = "".join(c if c.isprintable() and c not in ' "=' else "?" for c in path[:200])
    return cleaned or "/"
