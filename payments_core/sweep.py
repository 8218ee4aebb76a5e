"""One sweep over the open attempts, in batches, with bounded concurrency.

``payments reconcile`` runs one; ``reconcile`` is the command's name for a sweep.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING

from attrs import frozen

from payments_core.errors import PaymentsError

if TYPE_CHECKING:
    from payments_core.services import PaymentService
    from payments_core.values import DueAttempt

log = logging.getLogger(__name__)


@frozen
class SweepReport:
    """What one sweep did: attempts looked at, status changes by new status, failures."""

    checked: int
    changed: dict[str, int]
    failed: int

    def __str__(self) -> str:
        changes = ", ".join(f"{n} {status}" for status, n in sorted(self.changed.items()))
        return f"checked {self.checked} attempts: {changes or 'no changes'}, {self.failed} failed"


def sweep(
    service: PaymentService,
    *,
    batch_size: int = 100,
    concurrency: int = 4,
    lease: timedelta = timedelta(minutes=1),
    progress: Callable[[int], None] | None = None,
) -> SweepReport:
    """Sweep every open attempt once: confirm the paid, time out the expired and unpaid.

    Attempts are claimed ``batch_size`` at a time for ``lease``, so several sweepers
    (threads or processes) never ask about the same attempt at once. A vendor or store
    failure on one attempt is counted and logged; the attempt stays open for a later sweep.
    A sweep claims nothing new once ``lease`` has passed since it started, so it never
    sees an attempt twice and its memory does not grow with the number of attempts.

    Args:
        service: the composed core.
        batch_size: attempts claimed per round trip to the repository.
        concurrency: vendor queries in flight at once.
        lease: how long a claimed attempt is skipped by other sweepers.
        progress: called with the number of attempts handled after each batch.

    Raises:
        ValueError: a size below 1, or a lease that is not positive.
        StoreUnavailable: attempts could not be claimed.
    """
    if batch_size < 1 or concurrency < 1:
        raise ValueError("batch_size and concurrency must be at least 1")
    if lease <= timedelta(0):
        raise ValueError("lease must be positive")
    outcomes: Counter[str] = Counter()
    deadline = service.clock.now() + lease  # past it, attempts claimed earlier could come back
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sweep") as pool:
        while (now := service.clock.now()) < deadline:
            batch = service.repo.claim_due(now, limit=batch_size, lease=lease)
            if not batch:
                break
            outcomes.update(pool.map(lambda due: _check(service, due), batch))
            if progress:
                progress(len(batch))
    if service.announce is not None:  # even unchanged: the relay delivers what others left
        service.announce()
    failed = outcomes.pop("failed", 0)
    unchanged = outcomes.pop("unchanged", 0)
    return SweepReport(
        checked=failed + unchanged + sum(outcomes.values()), changed=dict(outcomes), failed=failed
    )


def _check(service: PaymentService, due: DueAttempt) -> str:
    try:
        status = service.sweep_attempt(due.payment_id, due.reference)
    except PaymentsError as exc:
        log.warning("sweep: attempt %s not settled: %s", due.reference, exc.code)
        return "failed"
    return status.value if status else "unchanged"
