"""The payments app's background work, and ``payments_lifespan`` for the app that mounts it.

Starlette (and FastAPI) never run a mounted app's lifespan: under ``Mount("/pay", ...)``
status-change delivery and the in-process sweeper would never start. An embedder enters
``payments_lifespan(payments_app)`` in its own lifespan; if nobody does, the first request
starts the work and one warning says how to do it properly (docs/embedding.md).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from payments_core.background import Background

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

LATE_START = (
    "the payments app's background work (status-change delivery, the in-process sweeper) "
    "was not started by a lifespan, so it starts now, on the first request, and nothing "
    "will stop it cleanly: a mounted app's lifespan never runs; enter "
    "payments_http.payments_lifespan(payments_app) in your application's lifespan "
    "(docs/embedding.md)"
)


class BackgroundWork:
    """The parts of one payments app, started once in order and stopped in reverse.

    ``start`` and ``stop`` may be called from any thread and any number of times; only
    the first ``start`` after a stop starts anything.
    """

    def __init__(self, parts: Sequence[Background]) -> None:
        self._parts = tuple(parts)
        self._lock = threading.Lock()
        self._running = False
        self._stopped = False

    @property
    def running(self) -> bool:
        """Whether the parts have been started and not stopped since."""
        return self._running

    @property
    def stopped(self) -> bool:
        """Whether the parts were started and then stopped."""
        return self._stopped

    def start(self) -> bool:
        """Start the parts unless they run; True when this call started them."""
        with self._lock:
            if self._running:
                return False
            for part in self._parts:
                part.start()
            self._running, self._stopped = True, False
            return True

    def stop(self) -> None:
        """Stop the parts, last started first, if they run."""
        with self._lock:
            if not self._running:
                return
            self._running, self._stopped = False, True
            for part in reversed(self._parts):
                part.stop()

    def start_late(self) -> None:
        """Start the parts for a request when no lifespan ever did, with one warning."""
        if self._running or self._stopped or not self._parts:
            return
        if self.start():
            log.warning(LATE_START)

    @contextlib.asynccontextmanager
    async def running_in(self) -> AsyncIterator[None]:
        """Run the parts for the block; stop them after it only if it started them."""
        started = self.start()
        try:
            yield
        finally:
            if started:
                self.stop()


def payments_lifespan(app: Starlette) -> contextlib.AbstractAsyncContextManager[None]:
    """Run the background work of ``app`` (made by ``create_app``) for the ``async with`` block.

    Enter it in the lifespan of the application that mounts ``app``: delivery and the
    sweeper start when the block is entered and stop when it is left. Entered while the
    work already runs (``app`` is also served on its own), it starts and stops nothing.

    Raises:
        TypeError: ``app`` was not made by ``create_app`` or ``create_app_from_settings``.
    """
    work = getattr(app.state, "payments_background", None)
    if not isinstance(work, BackgroundWork):
        raise TypeError("payments_lifespan takes the app made by payments_http.create_app")
    return work.running_in()


class StartOnFirstRequest:
    """ASGI middleware: the safety net that starts the work no lifespan started."""

    def __init__(self, app: ASGIApp, work: BackgroundWork) -> None:
        self._app = app
        self._work = work

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan" and not self._work.running:
            self._work.start_late()
        await self._app(scope, receive, send)
