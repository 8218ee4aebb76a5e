"""What every answer gets: a request id, hygiene headers, one log line; pure ASGI.

Logged: request id, method, path (never the query string), status, duration and the
authenticated username, each client value escaped (``_logsafe``). Never a token, a key,
a body or an order string. Every answer says ``Cache-Control: no-store`` (it may carry
an order string or a payer's data) and ``X-Content-Type-Options: nosniff``. A failure no
handler caught is logged here, escaped, and answered 500 in the error envelope.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import TYPE_CHECKING, Final

from payments_http._logsafe import log_value, safe_traceback
from payments_http.errors import error_response

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("payments_http.access")
failures = logging.getLogger("payments_http.app")  # where unexpected failures have been logged
_INCOMING_ID: Final = re.compile(rb"^[A-Za-z0-9._-]{8,64}$")
HEADER: Final = b"x-request-id"
_CACHE_CONTROL: Final = b"cache-control"
_NO_STORE: Final = (_CACHE_CONTROL, b"no-store")
_NOSNIFF: Final = (b"x-content-type-options", b"nosniff")


class RequestLog:
    """ASGI middleware: assigns ``scope["state"]["request_id"]``, adds the hygiene headers,
    logs each request once, and answers 500 for what nothing else caught.

    Args:
        app: the application it wraps.
        reraise: re-raise an uncaught failure unanswered, for Starlette's debug page.
    """

    def __init__(self, app: ASGIApp, *, reraise: bool = False) -> None:
        self.app = app
        self.reraise = reraise

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        own_headers = [(HEADER, request_id.encode()), _NOSNIFF]
        started = time.perf_counter()
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", [])
                if not any(name == _CACHE_CONTROL for name, _ in headers):
                    headers = [*headers, _NO_STORE]
                message["headers"] = [*headers, *own_headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            failures.error(
                "request_id=%s unexpected %s\n%s",
                request_id,
                type(exc).__name__,
                safe_traceback(exc).rstrip("\n"),
            )
            if self.reraise:
                raise
            if not status:
                await _internal_error(request_id)(scope, receive, send_with_headers)
        finally:
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "request_id=%s method=%s path=%s status=%d duration_ms=%.1f user=%s",
                    request_id,
                    log_value(scope["method"]),
                    log_value(scope.get("path") or "/"),
                    status or 500,
                    (time.perf_counter() - started) * 1000,
                    log_value(str(scope["state"].get("user", "-"))),
                )


def _internal_error(request_id: str) -> ASGIApp:
    return error_response(
        500,
        "internal_error",
        f"the server failed; quote request id {request_id} when reporting it",
    )


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == HEADER and _INCOMING_ID.match(value):
            return bytes(value).decode()
    return secrets.token_hex(8)
