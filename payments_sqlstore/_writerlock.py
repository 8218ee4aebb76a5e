"""SQLite's one writer at a time, queued in the kernel rather than by sleeping and polling.

SQLite lets one connection write at a time. A writer that finds the database locked
sleeps in its busy handler (1, 2, 5, 10 ... 100 ms) and tries again, so a process that
just released the lock usually takes it back before the sleeper wakes: with two server
processes on one file, the second starved and create throughput fell below one
process's. Here writers first take an ``flock`` on a file beside the database, polled
every 50 µs to 1 ms, so that a waiter takes it within a millisecond of its release; a
``threading.Lock`` in front queues the threads of one process, since an ``flock`` is
shared by every thread using the same descriptor. A killed process's lock is released
by the kernel with its descriptors, and no wait lasts longer than the store's timeout.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Final

from payments_core.errors import StoreUnavailable

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: threads still queue, processes poll
    fcntl = None  # type: ignore[assignment]  # the module's stand-in where it is missing

_FIRST_POLL: Final = 0.00005
_LAST_POLL: Final = 0.001


class WriterLock:
    """The write lock of one SQLite file for threads and processes; ``None`` path: threads only."""

    def __init__(self, database: str | None, timeout: float) -> None:
        self._threads = threading.Lock()
        self._path = Path(f"{database}-writer.lock") if database and fcntl else None
        self._fd: int | None = None
        self._timeout = timeout

    def __enter__(self) -> WriterLock:
        if not self._threads.acquire(timeout=self._timeout):
            raise StoreUnavailable("the payment store is busy (another writer holds it)")
        try:
            if self._path is not None:
                self._lock_file(time.monotonic() + self._timeout)
        except BaseException:
            self._threads.release()
            raise
        return self

    def close(self) -> None:
        """Close the lock file (taken again on the next write)."""
        with self._threads:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _lock_file(self, deadline: float) -> None:
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)  # type: ignore[arg-type]  # only called with a path
        pause = _FIRST_POLL
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreUnavailable(
                        "the payment store is busy (another process holds it)"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, _LAST_POLL)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()
