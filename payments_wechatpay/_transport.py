"""Calls to the WeChat Pay API: one pooled Session, timeouts, bounded retries, one deadline.

The timing rules are Alipay's (``payments_vendorkit.timeouts.Timeouts``, docs/alipay.md): each try's
connect and read timeouts are cut to the time left, transport faults are retried with a
doubling backoff, and the tries run in a worker thread that the caller stops waiting for
at the deadline, so a gateway trickling its answer cannot hold a call past it. Every
try is signed afresh; the answer is returned whatever its status, for the gateway to judge.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import requests

from payments_core.errors import VendorUnavailable
from payments_vendorkit.sessions import fault_reason
from payments_vendorkit.sessions import make_session as shared_session
from payments_vendorkit.timeouts import Timeouts
from payments_wechatpay.settings import VENDOR

_TRANSPORT_FAULTS: Final = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
log = logging.getLogger("payments_wechatpay")

Authorize = Callable[[str, str, bytes], str]
"""Signs one try: (method, path with query, body) to the ``Authorization`` value."""


@dataclass(frozen=True)
class Answer:
    """What the API answered: status, headers (names in any case) and the raw body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def make_session(pool_size: int = 10) -> requests.Session:
    """A pooled Session for this plugin's gateway, with no automatic retries."""
    return shared_session("payments-wechatpay/0.1", pool_size)


class Transport:
    """Sends signed JSON calls to one API base URL and returns the raw answers."""

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        timeouts: Timeouts,
        authorize: Authorize,
        platform_key_id: str,
    ) -> None:
        self._session = session
        self._base = base_url
        self._timeouts = timeouts
        self._authorize = authorize
        self._key_id = platform_key_id
        self._slots = threading.BoundedSemaphore(timeouts.in_flight)

    def deadline(self) -> float:
        """When a call starting now must be over (``time.monotonic()`` seconds)."""
        return time.monotonic() + self._timeouts.total

    def send(self, method: str, path: str, body: bytes, deadline: float) -> Answer:
        """The answer to one call, by ``deadline`` at the latest.

        Raises:
            VendorUnavailable: no answer by the deadline, or too many calls in flight.
        """
        if not self._slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise VendorUnavailable(VENDOR, "too many calls waiting for WeChat Pay")
        outcome: list[Answer | BaseException] = []
        done = threading.Event()

        def run() -> None:
            try:
                outcome.append(self._tries(method, path, body, deadline))
            except BaseException as exc:  # handed to the caller's thread as it is
                outcome.append(exc)
            finally:
                self._slots.release()
                done.set()

        worker = threading.Thread(
            target=contextvars.copy_context().run, args=(run,), name="wechatpay-call", daemon=True
        )
        worker.start()
        if not done.wait(max(0.0, deadline - time.monotonic())):
            log.warning(
                "wechatpay %s %s: no answer within %.1f s", method, path, self._timeouts.total
            )
            raise VendorUnavailable(VENDOR, "no answer in time")
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def _tries(self, method: str, path: str, body: bytes, deadline: float) -> Answer:
        delay, reason = self._timeouts.backoff, "no time left"
        for attempt in range(self._timeouts.retries + 1):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            headers = {
                "Accept": "application/json",
                "Content-Type": "application/json",
                "Authorization": self._authorize(method, path, body),
                "Wechatpay-Serial": self._key_id,
            }
            try:
                response = self._session.request(
                    method,
                    self._base + path,
                    data=body or None,
                    headers=headers,
                    timeout=(min(self._timeouts.connect, left), min(self._timeouts.read, left)),
                    allow_redirects=False,
                )
                return Answer(response.status_code, response.headers, response.content)
            except _TRANSPORT_FAULTS as exc:
                reason = fault_reason(exc)
                log.warning("wechatpay %s %s try %d: %s", method, path, attempt + 1, reason)
            if attempt < self._timeouts.retries and time.monotonic() + delay < deadline:
                time.sleep(delay)
                delay *= 2
        raise VendorUnavailable(VENDOR, reason)

    def close(self) -> None:
        """Release the pooled connections."""
        self._session.close()
