"""Work that runs besides the requests, in threads of its own: the sweeper, and running parts.

Plain threads, no web framework: an application that calls the core from its own
handlers runs the sweeper and ``BackgroundDelivery`` with ``running_in_background`` in
its lifespan (or ``start``/``stop`` them itself); ``payments_http`` runs the same parts.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Protocol

from payments_core.sweep import sweep

if TYPE_CHECKING:
    from payments_core.services import PaymentService

log = logging.getLogger(__name__)


class Background(Protocol):
    """Something started with an application and stopped with it."""

    def start(self) -> object:
        """Start working (in a thread of its own); must not block."""
        ...

    def stop(self) -> None:
        """Stop, finishing what is in progress."""
        ...


class Sweeper:
    """Runs one sweep every ``interval`` seconds in a daemon thread; the sweep ends by
    having pending status changes delivered.

    Several processes may each run one: the repository's claims keep them apart.
    """

    def __init__(self, service: PaymentService, interval: float) -> None:
        if interval <= 0:
            raise ValueError("the sweep interval must be positive")
        self._service = service
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the background thread (first sweep after one interval)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="payments-sweeper", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop and wait for the sweep in progress."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def sweep_once(self) -> None:
        """One sweep now; failures are logged, never raised."""
        try:
            report = sweep(self._service)
        except Exception:  # the thread must survive anything a sweep meets
            log.exception("in-process sweep failed; next one in %ss", self._interval)
            return
        if report.checked or report.failed or report.refunds.checked:
            log.info("in-process sweep: %s", report)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sweep_once()


@contextlib.contextmanager
def running(*parts: Background) -> Iterator[None]:
    """Start ``parts`` in order for the ``with`` block; stop them in reverse after it."""
    with contextlib.ExitStack() as stack:
        for part in parts:
            part.start()
            stack.callback(part.stop)
        yield


@contextlib.asynccontextmanager
async def running_in_background(*parts: Background) -> AsyncIterator[None]:
    """``running`` for an ``async with`` block, such as an ASGI application's lifespan.

    Starting returns at once; stopping waits for the work in progress (a delivery, a
    sweep) as ``stop`` does, on the event loop's thread, at shutdown.
    """
    with running(*parts):
        yield
