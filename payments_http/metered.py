"""Where the composition feeds ``Metrics``: around each vendor gateway, around the
repository's adds and saves, and after each in-process sweep.

Each wrapper forwards every port method as it is and only counts or times what passes;
other attributes (``close``, ``ping``, what a plugin adds) are those of the wrapped object.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar

from payments_core.background import Sweeper
from payments_core.errors import PaymentsError
from payments_core.values import ChangeSource, NotificationOutcome
from payments_http.metrics import Children

if TYPE_CHECKING:
    from payments_core.money import Money
    from payments_core.payment import Payment
    from payments_core.ports import PaymentRepository, VendorGateway
    from payments_core.refund import Refund
    from payments_core.services import PaymentService
    from payments_core.sweep import SweepReport
    from payments_core.values import (
        Checkout,
        CheckoutRequest,
        IdempotencyClaim,
        RefundReport,
        Reply,
        TradeReport,
    )
    from payments_http.metrics import Metrics

_T = TypeVar("_T")
# The word operators know for each outcome; "retry" is the vendor being asked to resend.
NOTIFICATION_OUTCOMES: Final = {
    NotificationOutcome.APPLIED: "processed",
    NotificationOutcome.REFUSED: "refused",
    NotificationOutcome.RETRY: "retry",
}


class TimedVendor:
    """A ``VendorGateway`` whose calls to the vendor are timed by operation and outcome.

    ``reply`` is asked once per notification a known vendor sent, with its outcome:
    notifications are counted there.
    """

    def __init__(self, inner: VendorGateway, metrics: Metrics) -> None:
        self._inner = inner
        self._vendor = inner.name
        self._calls = Children(metrics.vendor_calls)
        self._notifications = Children(metrics.notifications)

    @property
    def name(self) -> str:
        return self._inner.name

    def open_checkout(self, request: CheckoutRequest) -> Checkout:
        return self._timed("open_checkout", lambda: self._inner.open_checkout(request))

    def query(self, reference: str) -> TradeReport:
        return self._timed("query", lambda: self._inner.query(reference))

    def close_attempt(self, reference: str) -> None:
        self._timed("close_attempt", lambda: self._inner.close_attempt(reference))

    def refund(
        self, reference: str, refund_reference: str, amount: Money, reason: str | None
    ) -> RefundReport:
        return self._timed(
            "refund", lambda: self._inner.refund(reference, refund_reference, amount, reason)
        )

    def query_refund(self, reference: str, refund_reference: str) -> RefundReport:
        return self._timed(
            "query_refund", lambda: self._inner.query_refund(reference, refund_reference)
        )

    def parse_notification(
        self, body: bytes, headers: Mapping[str, str]
    ) -> TradeReport | RefundReport | None:
        # Local work (a signature check), not a call to the vendor: left untimed, it was
        # most of what metrics cost a notification; ``reply`` counts each one.
        return self._inner.parse_notification(body, headers)

    def reply(self, outcome: NotificationOutcome) -> Reply:
        self._notifications.of(self._vendor, NOTIFICATION_OUTCOMES[outcome]).inc()
        return self._inner.reply(outcome)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _timed(self, operation: str, call: Callable[[], _T]) -> _T:
        started = time.perf_counter()
        outcome = "ok"
        try:
            return call()
        except PaymentsError as exc:
            outcome = exc.code
            raise
        except Exception:
            outcome = "exception"  # a plugin's bug: its type could be anything
            raise
        finally:
            elapsed = time.perf_counter() - started
            self._calls.of(self._vendor, operation, outcome).observe(elapsed)


class CountedRepository:
    """A ``PaymentRepository`` counting the payments it adds and the status changes it saves.

    It counts in the process that stored them, as they are stored: the numbers do not
    wait on status-change delivery and need no subscriber in the outbox.
    """

    def __init__(self, inner: PaymentRepository, metrics: Metrics) -> None:
        self._inner = inner
        self._created = Children(metrics.created)
        self._changes = Children(metrics.status_changes)

    def add(
        self,
        payment: Payment,
        *,
        idempotency: IdempotencyClaim | None = None,
        source: ChangeSource = ChangeSource.CREATE,
    ) -> Payment:
        added = self._inner.add(payment, idempotency=idempotency, source=source)
        self._created.of(added.vendor).inc()
        return added

    def save(
        self,
        payment: Payment,
        *,
        previous: Payment,
        refunds: Sequence[Refund] = (),
        source: ChangeSource | None = None,
    ) -> Payment:
        saved = self._inner.save(payment, previous=previous, refunds=refunds, source=source)
        if saved.status is not previous.status:
            self._changes.of(saved.vendor, previous.status.value, saved.status.value).inc()
        return saved

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class CountedSweeper(Sweeper):
    """The in-process sweeper, counting its runs and the attempts they claimed and failed."""

    def __init__(self, service: PaymentService, interval: float, metrics: Metrics) -> None:
        super().__init__(service, interval)
        self._metrics = metrics

    def sweep_once(self) -> SweepReport | None:
        report = super().sweep_once()
        if report is None:
            self._metrics.sweep_runs.labels("failed").inc()
            return None
        self._metrics.sweep_runs.labels("completed").inc()
        self._metrics.sweep_claimed.inc(report.checked)
        self._metrics.sweep_failed.inc(report.failed)
        return report
