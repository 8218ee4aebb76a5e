"""The server's Prometheus series (``payments_…``) and their text exposition.

One ``Metrics`` per app holds the series; the composition feeds them through seams
(``payments_http.metered``: the vendors, the repository's saves, the sweeper) and the
``HttpMetrics`` middleware, so the core never hears of Prometheus. With ``payments serve
--workers N`` every worker writes its samples to files in ``PROMETHEUS_MULTIPROC_DIR``
(a private folder of that run, see ``payments_http.serve``) and a scrape, whichever
worker answers it, reads them all: the counts are summed over the workers.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Final, Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from payments_core.errors import PaymentsError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from prometheus_client.metrics_core import Metric
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from payments_core.ports import Outbox

MULTIPROC_DIR: Final = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
BACKLOG_CAP: Final = 1000
"""Pending outbox changes counted at most per scrape; the gauge says this many or more."""
# Vendor calls take milliseconds (a local signature) to seconds (a slow vendor, the
# deadline): buckets from 5 ms to the deadlines a vendor adapter uses.
VENDOR_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UNMATCHED: Final = "(unmatched)"
"""The route label of a request no route answered: never the client's own path."""
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_M = TypeVar("_M", Counter, Histogram)
_LIVE_GAUGE: Final = re.compile(r"gauge_live\w*_(\d+)\.db")


class Metrics:
    """The server's series, registered in a registry of their own (not the global one).

    ``outbox``, once set, is read at each scrape for the backlog gauge.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.outbox: Outbox | None = None
        r = self.registry
        self.created = Counter(
            "payments_created", "Payments created, by vendor", ["vendor"], registry=r
        )
        self.status_changes = Counter(
            "payments_status_changes",
            "Stored changes of a payment's status, by vendor and statuses",
            ["vendor", "from_status", "to_status"],
            registry=r,
        )
        self.notifications = Counter(
            "payments_notifications",
            "Vendor notifications answered, by vendor and outcome (processed, refused, retry)",
            ["vendor", "outcome"],
            registry=r,
        )
        self.vendor_calls = Histogram(
            "payments_vendor_call_seconds",
            "Time of each call into a vendor's gateway, by vendor, operation and outcome "
            "(ok, or the error's code)",
            ["vendor", "operation", "outcome"],
            buckets=VENDOR_BUCKETS,
            registry=r,
        )
        self.sweep_runs = Counter(
            "payments_sweep_runs",
            "In-process sweeps, by outcome (completed, or failed when the sweep itself failed)",
            ["outcome"],
            registry=r,
        )
        self.sweep_claimed = Counter(
            "payments_sweep_attempts_claimed", "Open attempts claimed by sweeps", registry=r
        )
        self.sweep_failed = Counter(
            "payments_sweep_attempts_failed",
            "Attempts a sweep could not settle (vendor or store failure)",
            registry=r,
        )
        self.http_requests = Counter(
            "payments_http_requests",
            "HTTP requests answered, by route template, method and status class",
            ["route", "method", "status"],
            registry=r,
        )
        self.workers = Gauge(
            "payments_worker_processes",
            "Server processes serving the API",
            multiprocess_mode="livesum",
            registry=r,
        )
        self.workers.set(1)

    def exposition(self) -> bytes:
        """Every series in the text format; summed over the workers when there are several.

        Reads the outbox (``backlog``): call it off the event loop.
        """
        shared = os.environ.get(MULTIPROC_DIR)
        if shared:
            _forget_dead_workers(Path(shared))
            registry = CollectorRegistry()
            MultiProcessCollector(registry, shared)  # type: ignore[no-untyped-call]  # untyped in the library
        else:
            registry = self.registry
        text = generate_latest(registry)
        if self.outbox is not None:
            backlog = CollectorRegistry()
            backlog.register(_Backlog(self.outbox))
            text += generate_latest(backlog)
        return text


class _Backlog:
    """The outbox backlog, counted when scraped rather than kept by every worker.

    A store that cannot be read leaves the gauge out of that scrape.
    """

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def collect(self) -> Iterator[Metric]:
        try:
            pending = len(self._outbox.pending_changes(limit=BACKLOG_CAP))
        except PaymentsError:
            return
        yield GaugeMetricFamily(
            "payments_outbox_backlog",
            f"Changes waiting in the outbox for a status hook (counted up to {BACKLOG_CAP})",
            value=pending,
        )


def _forget_dead_workers(folder: Path) -> None:
    """Drop the live gauges of workers that died (killed, restarted by uvicorn).

    Their counters stay: what a dead worker counted still happened.
    """
    for file in folder.glob("gauge_live*_*.db"):
        found = _LIVE_GAUGE.fullmatch(file.name)
        if found is None:
            continue
        pid = int(found.group(1))
        if _alive(pid):
            continue
        with contextlib.suppress(FileNotFoundError):  # another worker's scrape was first
            mark_process_dead(pid, str(folder))  # type: ignore[no-untyped-call]  # untyped in the library


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class Children(Generic[_M]):
    """A labelled series' children, each looked up once: ``labels()`` validates and locks
    on every call, a cost paid on every request otherwise."""

    def __init__(self, series: _M) -> None:
        self._series: _M = series
        self._children: dict[tuple[str, ...], _M] = {}

    def of(self, *labels: str) -> _M:
        """The child of ``labels``; each label set is bounded, so the cache is."""
        child = self._children.get(labels)
        if child is None:
            child = self._children[labels] = self._series.labels(*labels)
        return child


def status_class(status: int) -> str:
    """``2xx`` for 204: one label value per hundred."""
    return f"{status // 100}xx" if 100 <= status <= 599 else "other"


class HttpMetrics:
    """ASGI middleware counting each answer by route template, method and status class.

    The route is the template the router matched (``/api/v1/payments/{id}``), never the
    requested path: ids and made-up paths do not become series of their own.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self._requests = Children(metrics.http_requests)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            method = scope["method"] if scope["method"] in _METHODS else "other"
            self._requests.of(template, method, status_class(status)).inc()
