"""Failures an emulator is told to answer next (``POST /control/fail-next``), bounded."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from payments_vendorkit.emulation import limits

if TYPE_CHECKING:
    from collections.abc import Set

Failure = tuple[str, str | None, float]  # mode, only this method (or any), seconds


class FailureQueue:
    """The failures waiting for the next server calls, at most ``MAX_QUEUED_FAILURES``.

    ``modes`` are the failures the emulator can answer, ``methods`` the calls a failure
    may be limited to (the vendor's own names for them).
    """

    def __init__(self, *, modes: Set[str], methods: Set[str]) -> None:
        self.modes = frozenset(modes)
        self.methods = frozenset(methods)
        self._lock = threading.Lock()
        self._waiting: list[Failure] = []

    def add(self, mode: str, *, count: object, seconds: object, method: str | None) -> None:
        """Queue ``count`` failures in ``mode`` for ``method`` (or any server call).

        Raises:
            ValueError: an unknown mode or method, ``count`` not a whole number from 1
                to 100, or ``seconds`` not a number from 0 to 60.
            limits.Full: more than 1000 failures would be waiting.
        """
        if mode not in self.modes:
            raise ValueError(f"mode must be one of {', '.join(sorted(self.modes))}")
        if method is not None and method not in self.methods:
            raise ValueError(f"method must be null or one of {', '.join(sorted(self.methods))}")
        times = limits.count(count, "count", limits.MAX_FAIL_COUNT)
        delay = limits.seconds(seconds, "seconds", limits.MAX_FAIL_SECONDS)
        with self._lock:
            if len(self._waiting) + times > limits.MAX_QUEUED_FAILURES:
                raise limits.Full(
                    f"at most {limits.MAX_QUEUED_FAILURES} failures may wait; POST /control/reset"
                )
            self._waiting.extend([(mode, method, delay)] * times)

    def take(self, method: str) -> tuple[str, float] | None:
        """The first failure waiting for ``method`` (mode and seconds), now used up."""
        with self._lock:
            for i, (mode, only, seconds) in enumerate(self._waiting):
                if only in (None, method):
                    del self._waiting[i]
                    return mode, seconds
        return None

    def waiting(self) -> int:
        """How many failures are queued."""
        with self._lock:
            return len(self._waiting)

    def clear(self) -> None:
        """Forget every queued failure."""
        with self._lock:
            self._waiting.clear()
