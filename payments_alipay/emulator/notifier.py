"""The emulator's notification sender: POST, and resend on Alipay's schedule until ``success``.

Alipay sends each asynchronous notification up to 8 times; the gaps between sends are
4 min, 10 min, 10 min, 1 h, 2 h, 6 h and 15 h, as it documents. ``factor`` scales them, so a test
can use 0.001 and see the whole schedule in about 90 seconds, or less.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import requests

from payments_alipay.emulator.limits import MAX_PENDING_NOTIFICATIONS

if TYPE_CHECKING:
    from collections.abc import Callable

RESEND_GAPS: Final = (240.0, 600.0, 600.0, 3600.0, 7200.0, 21600.0, 54000.0)
log = logging.getLogger("payments_alipay.emulator")


@dataclass(kw_only=True)
class OutgoingNotification:
    """One notification to send, and the record of each time it was sent."""

    url: str
    body: str
    record: Callable[[dict[str, object]], None]
    sends: int = 0
    done: bool = False
    history: list[dict[str, object]] = field(default_factory=list)


class Notifier:
    """A background thread that sends each notification when it is due."""

    def __init__(self, *, factor: float = 1.0, timeout: float = 5.0) -> None:
        self.factor = factor
        self.timeout = timeout
        self._queue: list[tuple[float, int, OutgoingNotification]] = []
        self._seq = itertools.count()
        self._wake = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._session = requests.Session()

    def send(self, outgoing: OutgoingNotification) -> None:
        """Send now (in the background), and again on the schedule until ``success``.

        With ``MAX_PENDING_NOTIFICATIONS`` already waiting, the notification is dropped and
        its history says so: the emulator's memory stays bounded.
        """
        self._schedule(outgoing, 0.0)

    def pending(self) -> int:
        """How many notifications are waiting for their next send."""
        with self._wake:
            return len(self._queue)

    def clear(self) -> None:
        """Drop every notification waiting for its next send."""
        with self._wake:
            self._queue.clear()

    def stop(self) -> None:
        """Stop the thread; pending resends are dropped."""
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.timeout + 1)
        self._session.close()

    def _schedule(self, outgoing: OutgoingNotification, delay: float) -> None:
        with self._wake:
            if self._stopped:
                return
            if len(self._queue) >= MAX_PENDING_NOTIFICATIONS:
                log.warning("notification to %s dropped: too many pending", outgoing.url)
                outgoing.record({"attempt": outgoing.sends, "dropped": "too many pending"})
                return
            heapq.heappush(self._queue, (time.monotonic() + delay, next(self._seq), outgoing))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="alipay-emulator-notifier", daemon=True
                )
                self._thread.start()
            self._wake.notify_all()

    def _run(self) -> None:
        while True:
            with self._wake:
                outgoing = self._next_due()
                if outgoing is None:
                    return
            self._send_once(outgoing)

    def _next_due(self) -> OutgoingNotification | None:
        while not self._stopped:
            if self._queue and self._queue[0][0] <= time.monotonic():
                return heapq.heappop(self._queue)[2]
            wait = self._queue[0][0] - time.monotonic() if self._queue else None
            self._wake.wait(timeout=wait)
        return None

    def _send_once(self, outgoing: OutgoingNotification) -> None:
        outgoing.sends += 1
        outcome = self._post(outgoing)
        outgoing.done = outcome.get("answer") == "success" and outcome.get("status") == 200
        entry = {"attempt": outgoing.sends, "at": round(time.monotonic(), 3), **outcome}
        entry["delivered"] = outgoing.done  # the control API's field: answered `success`
        outgoing.history.append(entry)
        outgoing.record(entry)
        if not outgoing.done and outgoing.sends <= len(RESEND_GAPS):
            self._schedule(outgoing, RESEND_GAPS[outgoing.sends - 1] * self.factor)

    def _post(self, outgoing: OutgoingNotification) -> dict[str, object]:
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        try:
            response = self._session.post(
                outgoing.url,
                data=outgoing.body.encode("ascii"),
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            log.info("notification to %s failed: %s", outgoing.url, type(exc).__name__)
            return {"status": None, "answer": None, "error": type(exc).__name__}
        return {"status": response.status_code, "answer": response.text[:64]}
