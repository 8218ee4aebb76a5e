"""One sweep over the open attempts and the PENDING refunds, in batches, with bounded concurrency.

``payments reconcile`` runs one; ``reconcile`` is the command's name for a sweep.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING

from attrs import field, frozen

from payments_core.errors import PaymentsError
from payments_core.refund import RefundStatus

if TYPE_CHECKING:
    from payments_core.refund import Refund
    from payments_core.services import PaymentService
    from payments_core.values import DueAttempt

log = logging.getLogger(__name__)


@frozen
class RefundTally:
    """What one sweep did to the PENDING refunds it claimed.

    ``sent``: sent to the vendor (again, under their own reference); ``succeeded`` and
    ``failed``: settled by this sweep; ``errors``: the vendor or the store failed, the
    refund stays PENDING for a later sweep.
    """

    checked: int = 0
    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    errors: int = 0

    def __str__(self) -> str:
        return (
            f"{self.checked} refunds: {self.sent} sent, {self.succeeded} succeeded, "
            f"{self.failed} failed, {self.errors} errors"
        )


@frozen
class SweepReport:
    """What one sweep did: attempts looked at, status changes by new status, failures; refunds."""

    checked: int
    changed: dict[str, int]
    failed: int
    refunds: RefundTally = field(factory=RefundTally)

    def __str__(self) -> str:
        changes = ", ".join(f"{n} {status}" for status, n in sorted(self.changed.items()))
        attempts = (
            f"checked {self.checked} attempts: {changes or 'no changes'}, {self.failed} failed"
        )
        return f"{attempts}; {self.refunds}"


def sweep(
    service: PaymentService,
    *,
    batch_size: int = 100,
    concurrency: int = 4,
    lease: timedelta = timedelta(minutes=1),
    progress: Callable[[int], None] | None = None,
) -> SweepReport:
    """Sweep every open attempt once: confirm the paid, time out the expired and unpaid;
    then every PENDING refund once: send again those the vendor never acknowledged (under
    their own reference: the vendor pays one out once), ask about the others.

    Attempts and refunds are claimed ``batch_size`` at a time for ``lease``, so several
    sweepers (threads or processes) never ask about the same one at once. A vendor or
    store failure on one is counted and logged; it stays open or PENDING for a later
    sweep. A sweep claims nothing new once ``lease`` has passed since it started, so it
    never sees one twice and its memory does not grow with their number.

    Args:
        service: the composed core.
        batch_size: attempts claimed per round trip to the repository.
        concurrency: vendor queries in flight at once.
        lease: how long a claimed attempt is skipped by other sweepers.
        progress: called with the number of attempts or refunds handled after each batch.

    Raises:
        ValueError: a size below 1, or a lease that is not positive.
        StoreUnavailable: attempts could not be claimed.
    """
    if batch_size < 1 or concurrency < 1:
        raise ValueError("batch_size and concurrency must be at least 1")
    if lease <= timedelta(0):
        raise ValueError("lease must be positive")
    outcomes: Counter[str] = Counter()
    refunds: Counter[str] = Counter()
    deadline = service.clock.now() + lease  # past it, what was claimed earlier could come back
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sweep") as pool:
        while (now := service.clock.now()) < deadline:
            batch = service.repo.claim_due(now, limit=batch_size, lease=lease)
            if not batch:
                break
            outcomes.update(pool.map(lambda due: _check(service, due), batch))
            if progress:
                progress(len(batch))
        # After the attempts: a charge to give back that they record is swept at once.
        while (now := service.clock.now()) < deadline:
            claimed = service.repo.claim_due_refunds(now, limit=batch_size, lease=lease)
            if not claimed:
                break
            for steps in pool.map(lambda refund: _refund(service, refund), claimed):
                refunds.update(steps)
            if progress:
                progress(len(claimed))
    if service.announce is not None:  # even unchanged: the relay delivers what others left
        service.announce()
    failed = outcomes.pop("failed", 0)
    unchanged = outcomes.pop("unchanged", 0)
    return SweepReport(
        checked=failed + unchanged + sum(outcomes.values()),
        changed=dict(outcomes),
        failed=failed,
        refunds=RefundTally(
            checked=refunds["checked"],
            sent=refunds["sent"],
            succeeded=refunds[RefundStatus.SUCCEEDED.value],
            failed=refunds[RefundStatus.FAILED.value],
            errors=refunds["errors"],
        ),
    )


def _check(service: PaymentService, due: DueAttempt) -> str:
    try:
        status = service.sweep_attempt(due.payment_id, due.reference)
    except PaymentsError as exc:
        log.warning("sweep: attempt %s not settled: %s", due.reference, exc.code)
        return "failed"
    return status.value if status else "unchanged"


def _refund(service: PaymentService, refund: Refund) -> list[str]:
    """Sweep one claimed refund; what happened, as counted in the RefundTally."""
    try:
        step = service.refunding.sweep(refund)
    except PaymentsError as exc:
        log.warning("sweep: refund %s not settled: %s", refund.id, exc.code)
        return ["checked", "errors"]
    happened = ["checked"]
    if step.sent:
        happened.append("sent")
    if step.status is not None:
        happened.append(step.status.value)
    return happened
