"""An emulator's notification sender: POST, and resend on the vendor's schedule until accepted.

Each vendor documents how often it resends a notification the merchant did not accept,
and what counts as accepted; an emulator gives both (``gaps``, ``accepted``). ``factor``
scales the gaps, so a test can use 0.001 and see a whole day's schedule in seconds.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import requests

from payments_vendorkit.emulation.limits import MAX_PENDING_NOTIFICATIONS

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

log = logging.getLogger("payments_vendorkit.emulation")


@dataclass(kw_only=True)
class OutgoingNotification:
    """One notification to send, and the record of each time it was sent."""

    url: str
    body: bytes | str  # str is sent as UTF-8
    record: Callable[[dict[str, object]], None]
    headers: Mapping[str, str] = field(default_factory=dict)
    # headers made afresh for each send, from the body: a signature with the time of sending
    sign: Callable[[bytes], Mapping[str, str]] | None = None
    sends: int = 0
    done: bool = False
    history: list[dict[str, object]] = field(default_factory=list)


class Notifier:
    """A background thread that sends each notification when it is due.

    ``accepted(status, text)`` says whether the merchant's answer (its status and the
    first 64 characters of its body) takes the notification; otherwise it is sent again
    after ``gaps[n] * factor`` seconds, once per gap.
    """

    def __init__(
        self,
        *,
        gaps: Sequence[float],
        accepted: Callable[[int, str], bool],
        factor: float = 1.0,
        timeout: float = 5.0,
        name: str = "emulator-notifier",
    ) -> None:
        self.gaps = tuple(gaps)
        self.accepted = accepted
        self.factor = factor
        self.timeout = timeout
        self.name = name
        self._queue: list[tuple[float, int, OutgoingNotification]] = []
        self._seq = itertools.count()
        self._wake = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._session = requests.Session()

    def send(self, outgoing: OutgoingNotification) -> None:
        """Send now (in the background), and again on the schedule until accepted.

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
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
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
        status, answer = outcome.get("status"), outcome.get("answer")
        outgoing.done = (
            isinstance(status, int) and isinstance(answer, str) and self.accepted(status, answer)
        )
        entry = {"attempt": outgoing.sends, "at": round(time.monotonic(), 3), **outcome}
        entry["delivered"] = outgoing.done  # the control API's field: the merchant accepted it
        outgoing.history.append(entry)
        outgoing.record(entry)
        if not outgoing.done and outgoing.sends <= len(self.gaps):
            self._schedule(outgoing, self.gaps[outgoing.sends - 1] * self.factor)

    def _post(self, outgoing: OutgoingNotification) -> dict[str, object]:
        body = outgoing.body.encode("utf-8") if isinstance(outgoing.body, str) else outgoing.body
        headers = dict(outgoing.headers)
        if outgoing.sign is not None:
            headers |= outgoing.sign(body)
        try:
            response = self._session.post(
                outgoing.url,
                data=body,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            log.info("notification to %s failed: %s", outgoing.url, type(exc).__name__)
            return {"status": None, "answer": None, "error": type(exc).__name__}
        return {"status": response.status_code, "answer": response.text[:64]}
