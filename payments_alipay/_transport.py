"""The HTTP side of server-to-server calls: one pooled Session, timeouts, bounded retries.

Every call has one deadline across all its tries (``Timeouts.total``). A try's connect
and read timeouts are cut to the time left, and the tries run in a worker thread that
the caller stops waiting for at the deadline: a gateway that trickles its answer a
byte at a time (each read within the read timeout) cannot hold a request past it.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from typing import Final

import requests

from payments_core.errors import VendorError, VendorUnavailable
from payments_vendorkit.sessions import fault_reason
from payments_vendorkit.sessions import make_session as shared_session
from payments_vendorkit.timeouts import Timeouts

VENDOR: Final = "alipay"
_TRANSPORT_FAULTS: Final = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
log = logging.getLogger("payments_alipay")
__all__ = ["Timeouts", "Transport", "make_session"]


def make_session(pool_size: int = 10) -> requests.Session:
    """A pooled Session for this plugin's gateway, with no automatic retries."""
    return shared_session("payments-alipay/0.1", pool_size)


class Transport:
    """POSTs signed form parameters to the gateway and returns the raw body bytes."""

    def __init__(self, session: requests.Session, url: str, timeouts: Timeouts) -> None:
        self._session = session
        self._url = url
        self._timeouts = timeouts
        self._slots = threading.BoundedSemaphore(timeouts.in_flight)

    def deadline(self) -> float:
        """When a call starting now must be over (``time.monotonic()`` seconds)."""
        return time.monotonic() + self._timeouts.total

    def post(self, method: str, pairs: list[tuple[str, str]], deadline: float) -> bytes:
        """The body of a 200 answer, by ``deadline`` at the latest.

        Raises:
            VendorUnavailable: no answer by the deadline, or a 5xx status.
            VendorError: any other non-200 status.
        """
        if not self._slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise VendorUnavailable(VENDOR, "too many calls waiting for Alipay")
        call = _Call(self, method, pairs, deadline)
        worker = threading.Thread(
            target=contextvars.copy_context().run, args=(call.run,), name="alipay-call", daemon=True
        )
        worker.start()
        if not call.done.wait(max(0.0, deadline - time.monotonic())):
            log.warning("alipay %s: no answer within %.1f s", method, self._timeouts.total)
            raise VendorUnavailable(VENDOR, "no answer in time")
        return call.outcome()

    def tries(self, method: str, pairs: list[tuple[str, str]], deadline: float) -> bytes:
        """Try, retrying transport faults, while there is time before ``deadline``."""
        delay, reason = self._timeouts.backoff, "no time left"
        for attempt in range(self._timeouts.retries + 1):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                response = self._session.post(
                    self._url,
                    data=pairs,
                    headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
                    timeout=(min(self._timeouts.connect, left), min(self._timeouts.read, left)),
                    allow_redirects=False,
                )
                return _body(response, method)
            except _TRANSPORT_FAULTS as exc:
                reason = fault_reason(exc)
                log.warning("alipay %s try %d: %s", method, attempt + 1, reason)
            if attempt < self._timeouts.retries and time.monotonic() + delay < deadline:
                time.sleep(delay)
                delay *= 2
        raise VendorUnavailable(VENDOR, reason)

    def release(self) -> None:
        """A call is over (answered, failed, or given up on and finally ended)."""
        self._slots.release()

    def close(self) -> None:
        """Release the pooled connections."""
        self._session.close()


class _Call:
    """One call's tries, run in a worker thread; ``done`` is set once its outcome is in."""

    def __init__(
        self, transport: Transport, method: str, pairs: list[tuple[str, str]], deadline: float
    ) -> None:
        self._transport = transport
        self._args = (method, pairs, deadline)
        self._outcome: bytes | BaseException = VendorUnavailable(VENDOR, "no answer in time")
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self._outcome = self._transport.tries(*self._args)
        except BaseException as exc:  # handed to the caller's thread as it is
            self._outcome = exc
        finally:
            self._transport.release()
            self.done.set()

    def outcome(self) -> bytes:
        if isinstance(self._outcome, BaseException):
            raise self._outcome
        return self._outcome


def _body(response: requests.Response, method: str) -> bytes:
    status = response.status_code
    if status == 200:
        return response.content
    log.warning("alipay %s answered HTTP %d", method, status)
    if status >= 500:
        raise VendorUnavailable(VENDOR, f"answered HTTP {status}")
    raise VendorError(VENDOR, f"http_{status}", "unexpected HTTP status")
