"""Deliver status changes from a background thread, so requests do not wait for hooks."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from payments_core.errors import PaymentsError

log = logging.getLogger(__name__)


class BackgroundDelivery:
    """Runs ``deliver`` in one daemon thread whenever woken, and every ``interval`` seconds.

    Woken many times while busy, it runs once more afterwards, so a change stored while
    a delivery is running is never left waiting for the next interval.

    ``OutboxRelay.in_background`` makes one for a relay and has the relay's ``wake``
    signal it.

    Args:
        deliver: delivers pending changes, e.g. ``OutboxRelay.deliver``.
        interval: seconds between deliveries when nobody wakes it (catches what failed).
        min_gap: seconds between two deliveries however often it is woken: under load,
            changes are then delivered in batches, with two transactions per batch
            instead of two per change competing with the requests' own writes.
    """

    def __init__(
        self, deliver: Callable[[], int], *, interval: float = 30.0, min_gap: float = 0.25
    ) -> None:
        self._deliver = deliver
        self._interval = interval
        self._min_gap = min_gap
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> BackgroundDelivery:
        """Start the thread unless it runs (again after ``stop``); returns self."""
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="payments-delivery", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        """Ask for a delivery soon; cheap enough to call after every stored change."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Deliver what is pending one last time and stop the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self._deliver()
            except PaymentsError as exc:  # the outbox keeps them; the next round retries
                log.warning("status changes not delivered: %s", exc.code)
            except Exception:  # the thread must outlive any failure, or changes would pile up
                log.exception("status change delivery failed")
            if self._stop.wait(self._min_gap):
                return
