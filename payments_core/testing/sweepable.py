"""The contract of the ``Sweepable`` Protocol: open attempts claimed under a lease."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from payments_core.inmemory import FrozenClock
from payments_core.payment import PaymentStatus
from payments_core.ports import Payments, Sweepable
from payments_core.testing._support import attempt_for, new_payment


class SweepableRepository(Payments, Sweepable, Protocol):
    """The suite's ``repo``: ``Payments`` stores the attempts that ``Sweepable`` claims."""


class SweepableContract:
    """What every ``Sweepable`` does. Fixtures: ``repo`` (empty) and ``clock``."""

    def test_claim_due_returns_open_attempts_oldest_expiry_first(
        self, repo: SweepableRepository, clock: FrozenClock
    ) -> None:
        late = repo.add(new_payment(clock, minutes=30))
        early = repo.add(new_payment(clock, minutes=5))

        due = repo.claim_due(clock.now(), limit=10, lease=timedelta(minutes=1))

        assert [(d.payment_id, d.reference) for d in due] == [
            (early.id, early.attempts[0].reference),
            (late.id, late.attempts[0].reference),
        ]

    def test_claimed_attempts_are_skipped_until_the_lease_ends(
        self, repo: SweepableRepository, clock: FrozenClock
    ) -> None:
        repo.add(new_payment(clock))
        repo.add(new_payment(clock))
        first = repo.claim_due(clock.now(), limit=1, lease=timedelta(minutes=1))
        second = repo.claim_due(clock.now(), limit=5, lease=timedelta(minutes=1))

        assert len(first) == 1
        assert len(second) == 1
        assert first[0].reference != second[0].reference
        assert repo.claim_due(clock.now(), limit=5, lease=timedelta(minutes=1)) == []
        clock.advance(timedelta(minutes=1))
        assert len(repo.claim_due(clock.now(), limit=5, lease=timedelta(minutes=1))) == 2

    def test_claim_due_skips_settled_attempts_and_payments(
        self, repo: SweepableRepository, clock: FrozenClock
    ) -> None:
        confirmed = repo.add(new_payment(clock))
        repo.save(
            confirmed.confirm(confirmed.attempts[0].reference, trade_id="T", at=clock.now()),
            previous=confirmed,
        )
        timed_out = repo.add(new_payment(clock))
        repo.save(timed_out.transition(PaymentStatus.TIMEOUT, at=clock.now()), previous=timed_out)
        closed = repo.add(new_payment(clock))
        reopened = closed.close_attempt(closed.attempts[0].reference, at=clock.now())
        fresh = attempt_for(clock)
        repo.save(reopened.with_attempt(fresh, at=clock.now()), previous=closed)

        due = repo.claim_due(clock.now(), limit=10, lease=timedelta(minutes=1))

        assert [d.reference for d in due] == [fresh.reference]
