"""Child processes for the race and crash tests: ``python -m tests.sqlstore._worker``.

``confirm URL``: says ``ready``, then for each payment id read from stdin confirms
that payment (reloading on conflicts) and prints ``won`` or ``lost``.

``write URL PREFIX``: creates and confirms payments forever, printing ``created ID``
and ``confirmed ID`` after each acknowledged commit, until it is killed.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from payments_core.errors import ConcurrencyConflict
from payments_core.money import Money
from payments_core.payment import Attempt, Payment, PaymentStatus
from payments_core.ports import PaymentRepository
from payments_core.values import IdempotencyClaim
from payments_sqlstore import SqlPaymentRepository


def confirm_once(repo: PaymentRepository, payment_id: int, trade_id: str) -> bool:
    """Confirm the payment unless someone else did; True when this call made the change."""
    while True:
        current = repo.get(payment_id)
        if current.status is not PaymentStatus.PENDING:
            return False
        paid = current.confirm(
            current.attempts[0].reference, trade_id=trade_id, at=datetime.now(UTC)
        )
        try:
            repo.save(paid, previous=current)
        except ConcurrencyConflict:
            continue
        return True


def new_payment(order_id: str, reference: str) -> Payment:
    """A fresh pending payment with one open attempt."""
    now = datetime.now(UTC)
    attempt = Attempt(
        reference=reference,
        order_string=f"https://vendor.invalid/{reference}",
        opened_at=now,
        expires_at=now + timedelta(minutes=15),
    )
    return Payment.start(
        order_id=order_id,
        payer="crash",
        subject="crash test",
        description=None,
        amount=Money(4242),
        vendor="fake",
        attempt=attempt,
    )


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _confirm(repo: SqlPaymentRepository) -> None:
    _say("ready")
    for line in sys.stdin:
        won = confirm_once(repo, int(line), trade_id=f"trade-{int(line)}")  # one trade each
        _say("won" if won else "lost")


def _write(repo: SqlPaymentRepository, prefix: str) -> None:
    n = 0
    while True:
        n += 1
        record = IdempotencyClaim(payer="crash", key=f"{prefix}-{n}", fingerprint="f")
        stored = repo.add(new_payment(f"{prefix}-{n}", f"{prefix}R{n}"), idempotency=record)
        _say(f"created {stored.id}")
        if n % 2 == 0:
            paid = stored.confirm(
                stored.attempts[0].reference, trade_id=f"T{prefix}-{n}", at=datetime.now(UTC)
            )
            repo.save(paid, previous=stored)
            _say(f"confirmed {stored.id}")


def main(argv: list[str]) -> None:
    """Run the mode named in ``argv``."""
    mode, url, *rest = argv
    repo = SqlPaymentRepository.from_url(url)
    try:
        if mode == "confirm":
            _confirm(repo)
        else:
            _write(repo, rest[0])
    finally:
        repo.close()


if __name__ == "__main__":
    main(sys.argv[1:])
