"""The in-process sweeper: one sweep every N seconds in a background thread."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from payments_core.sweep import sweep

if TYPE_CHECKING:
    from payments_core.services import PaymentService

log = logging.getLogger(__name__)


class Sweeper:
    """Runs one sweep every ``interval`` seconds; each ends by having pending changes delivered.

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
        if report.checked or report.failed:
            log.info("in-process sweep: %s", report)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sweep_once()
