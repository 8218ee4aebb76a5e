"""What the emulator accepts at most: it runs inside the demo server, reachable by anyone.

Every count, delay and size it takes is bounded, and so is everything it keeps (trades,
queued failures, pending notifications): no request can make it hold more memory or a
connection longer than these allow. Out-of-range values are refused with a clear 4xx.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

    from starlette.requests import Request

MAX_REQUEST_BYTES: Final = 64 * 1024  # bytes of a request body or query string
MAX_TRADES: Final = 10_000  # trades kept; POST /control/reset forgets them
MAX_REFUNDS: Final = 1_000  # refunds kept per trade (each takes a merchant-signed request)
MAX_FAIL_COUNT: Final = 100  # failures queued by one fail-next
MAX_QUEUED_FAILURES: Final = 1_000  # failures queued at once
MAX_FAIL_SECONDS: Final = 60.0  # how long a "timeout" failure holds its answer
MAX_PENDING_NOTIFICATIONS: Final = 10_000  # notifications waiting for their next send
MAX_URL: Final = 512  # characters of notify_url, return_url and quit_url
MAX_OVERRIDE: Final = 64  # characters of a faked total_amount or seller_id
MAX_RESEND_FACTOR: Final = 1_000.0
MAX_NOTIFY_TIMEOUT: Final = 60.0


class TooLarge(Exception):
    """A request body or query string over ``MAX_REQUEST_BYTES`` (413)."""

    def __init__(self) -> None:
        super().__init__(f"the request is larger than {MAX_REQUEST_BYTES // 1024} KiB")


class Full(Exception):
    """The emulator keeps as much as it may; ``POST /control/reset`` empties it (409)."""


async def read_bounded_body(request: Request) -> bytes:
    """The body, refusing over ``MAX_REQUEST_BYTES`` while reading, and long query strings.

    Raises:
        TooLarge: the body or the query string is over ``MAX_REQUEST_BYTES``.
    """
    if len(request.scope.get("query_string", b"")) > MAX_REQUEST_BYTES:
        raise TooLarge()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        raise TooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            raise TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def count(value: object, name: str, high: int) -> int:
    """A JSON whole number from 1 to ``high``.

    Raises:
        ValueError: naming ``name`` and the range.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ValueError(f"{name} must be a whole number from 1 to {high}")
    return value


def seconds(value: object, name: str, high: float) -> float:
    """A JSON number of seconds from 0 to ``high``.

    Raises:
        ValueError: naming ``name`` and the range.
    """
    problem = ValueError(f"{name} must be a number of seconds from 0 to {high:g}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise problem
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        raise problem from None
    if not math.isfinite(number) or not 0 <= number <= high:
        raise problem
    return number


def short_text(body: Mapping[str, object], name: str) -> str | None:
    """An optional string or number field of at most ``MAX_OVERRIDE`` characters.

    Raises:
        ValueError: naming the field.
    """
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{name} must be a string")
    text = str(value)
    if not 0 < len(text) <= MAX_OVERRIDE:
        raise ValueError(f"{name} must be 1 to {MAX_OVERRIDE} characters")
    return text


def factor(value: float, name: str, high: float) -> float:
    """A finite, non-negative constructor setting up to ``high``.

    Raises:
        ValueError: naming the setting.
    """
    if not math.isfinite(value) or not 0 <= value <= high:
        raise ValueError(f"{name} must be from 0 to {high:g}")
    return value
