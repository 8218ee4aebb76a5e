"""The HTTP side of server-to-server calls: one pooled Session, timeouts, bounded retries."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Final

import requests
from requests.adapters import HTTPAdapter

from payments_core.errors import VendorError, VendorUnavailable

VENDOR: Final = "alipay"
_TRANSPORT_FAULTS: Final = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
log = logging.getLogger("payments_alipay")


@dataclass(frozen=True, kw_only=True)
class Timeouts:
    """How long one call may take, and how often a transport fault is retried."""

    connect: float = 3.05
    read: float = 10.0
    retries: int = 2  # extra tries after a connect/read fault; query and close are idempotent
    backoff: float = 0.2  # seconds before the first retry, doubled each time


def make_session(pool_size: int = 10) -> requests.Session:
    """A Session with its own connection pool and no automatic retries (we retry ourselves)."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "payments-alipay/0.1"
    return session


class Transport:
    """POSTs signed form parameters to the gateway and returns the raw body bytes."""

    def __init__(self, session: requests.Session, url: str, timeouts: Timeouts) -> None:
        self._session = session
        self._url = url
        self._timeouts = timeouts

    def post(self, method: str, pairs: list[tuple[str, str]]) -> bytes:
        """The body of a 200 answer.

        Raises:
            VendorUnavailable: no answer in time after the retries, or a 5xx status.
            VendorError: any other non-200 status.
        """
        delay = self._timeouts.backoff
        for attempt in range(self._timeouts.retries + 1):
            try:
                response = self._session.post(
                    self._url,
                    data=pairs,
                    headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
                    timeout=(self._timeouts.connect, self._timeouts.read),
                    allow_redirects=False,
                )
                return _body(response, method)
            except _TRANSPORT_FAULTS as exc:
                reason = _reason(exc)
                log.warning("alipay %s try %d: %s", method, attempt + 1, reason)
            if attempt < self._timeouts.retries:
                time.sleep(delay)
                delay *= 2
        raise VendorUnavailable(VENDOR, reason)

    def close(self) -> None:
        """Release the pooled connections."""
        self._session.close()


def _reason(exc: Exception) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return "connecting timed out"
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    if isinstance(exc, requests.ConnectionError):
        return "the connection failed"
    return "the answer was cut off"


def _body(response: requests.Response, method: str) -> bytes:
    status = response.status_code
    if status == 200:
        return response.content
    log.warning("alipay %s answered HTTP %d", method, status)
    if status >= 500:
        raise VendorUnavailable(VENDOR, f"answered HTTP {status}")
    raise VendorError(VENDOR, f"http_{status}", "unexpected HTTP status")
