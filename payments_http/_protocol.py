"""uvicorn's httptools protocol with a bounded request head, as ``payments serve`` runs it.

httptools (llhttp) takes a request line or a header of any length and any number of
headers, and uvicorn sets no limit of its own on that path (its
``h11_max_incomplete_event_size`` applies to h11 only): a client sent a 64 MB header and
was answered 200 while the server grew by the same. Here the bytes fed to the parser are
counted until the head is complete (so the headers are too: each takes 4 bytes or more);
past ``MAX_HEAD_BYTES``, or with more than ``MAX_HEADERS`` headers, the server answers
431 and closes the connection, without starting the app.
Requests the parser refuses get the JSON error envelope too, not uvicorn's plain text.
"""

from __future__ import annotations

import json
from typing import Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from payments_http.serve import MAX_HEAD_BYTES

MAX_HEADERS: Final = 100

_STATUS_LINES: Final = {
    400: b"HTTP/1.1 400 Bad Request\r\n",
    431: b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
}


class _TooManyHeaders(Exception):
    """Raised from a parser callback: the parser stops there and uvicorn refuses."""


def _error(code: str, message: str) -> bytes:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return b"".join(
        [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"cache-control: no-store\r\n",
            b"x-content-type-options: nosniff\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
    )


_ANSWERS: Final = {
    400: _error("invalid_request", "the request is not valid HTTP/1.1"),
    431: _error(
        "headers_too_large",
        f"the request line and headers must fit in {MAX_HEAD_BYTES} bytes"
        f" and {MAX_HEADERS} headers",
    ),
}


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` refusing a head over ``MAX_HEAD_BYTES`` or ``MAX_HEADERS``."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]  # uvicorn's own arguments, passed through
        self._in_head = True
        self._head_room = MAX_HEAD_BYTES
        self._refusal = 400

    def data_received(self, data: bytes) -> None:
        """Feed the parser at most the room left for the head while a head is open."""
        while data and not self.transport.is_closing():
            if not self._in_head:
                super().data_received(data)
                return
            piece, data = data[: self._head_room], data[self._head_room :]
            self._head_room -= len(piece)
            super().data_received(piece)
            if self._in_head and self._head_room <= 0 and not self.transport.is_closing():
                self._refusal = 431
                self.send_400_response("request head too large")

    def on_headers_complete(self) -> None:
        """The head is complete: what follows is body, not counted; too many headers stop
        the parser here, before the app is started (431)."""
        self._in_head = False
        if len(self.headers) > MAX_HEADERS:
            self._refusal = 431
            raise _TooManyHeaders
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The request is complete: the next head gets the whole room again."""
        super().on_message_complete()
        self._in_head = True
        self._head_room = MAX_HEAD_BYTES

    def send_400_response(self, msg: str) -> None:
        """Answer the refusal (400 or 431) in the JSON error envelope and close."""
        del msg  # uvicorn's plain-text reason; the envelope has its own
        status = self._refusal
        head = [_STATUS_LINES[status]]
        head += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        self.transport.write(b"".join([*head, _ANSWERS[status]]))
        self.transport.close()
