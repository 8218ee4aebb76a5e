"""The contract of the ``Outbox`` Protocol: every status change, claimed and delivered."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from attrs import evolve

from payments_core.inmemory import FrozenClock
from payments_core.payment import PaymentStatus
from payments_core.ports import Outbox, Payments
from payments_core.testing._support import new_payment
from payments_core.values import Delivery


class OutboxRepository(Payments, Outbox, Protocol):
    """The suite's ``repo``: ``Payments`` records the status changes the ``Outbox`` hands out."""


class OutboxContract:
    """What every ``Outbox`` does. Fixtures: ``repo`` (empty) and ``clock``."""

    def test_creation_and_each_status_change_are_recorded_once(
        self, repo: OutboxRepository, clock: FrozenClock
    ) -> None:
        stored = repo.add(new_payment(clock))
        renamed = repo.save(evolve(stored, subject="no status change"), previous=stored)
        timed_out = repo.save(
            renamed.transition(PaymentStatus.TIMEOUT, at=clock.now()), previous=renamed
        )

        changes = repo.pending_changes(limit=100)

        assert [(c.payment_id, c.previous, c.current) for c in changes] == [
            (stored.id, None, PaymentStatus.PENDING),
            (stored.id, PaymentStatus.PENDING, PaymentStatus.TIMEOUT),
        ]
        assert changes[1].at == timed_out.updated_at
        assert changes[0].id < changes[1].id

    def test_delivered_changes_leave_the_outbox(
        self, repo: OutboxRepository, clock: FrozenClock
    ) -> None:
        repo.add(new_payment(clock))
        repo.add(new_payment(clock))
        first, second = repo.pending_changes(limit=100)

        repo.mark_delivered(
            [
                Delivery(change_id=first.id, to=frozenset({"a"}), done=False),
                Delivery(change_id=second.id, to=frozenset({"a", "b"}), done=True),
            ]
        )
        repo.mark_delivered([Delivery(change_id=first.id, to=frozenset({"b"}), done=False)])

        (left,) = repo.pending_changes(limit=100)
        assert left.id == first.id
        assert left.delivered_to == frozenset({"a", "b"})

    def test_marking_an_unknown_change_is_ignored(
        self, repo: OutboxRepository, clock: FrozenClock
    ) -> None:
        repo.add(new_payment(clock))

        repo.mark_delivered([Delivery(change_id=987654321, to=frozenset({"a"}), done=True)])

        assert len(repo.pending_changes(limit=100)) == 1

    def test_claimed_changes_are_skipped_until_the_lease_ends(
        self, repo: OutboxRepository, clock: FrozenClock
    ) -> None:
        for _ in range(3):
            repo.add(new_payment(clock))
        lease = timedelta(minutes=1)

        first = repo.claim_changes(clock.now(), limit=2, lease=lease)
        second = repo.claim_changes(clock.now(), limit=5, lease=lease)
        third = repo.claim_changes(clock.now(), limit=5, lease=lease)
        clock.advance(lease)
        after_lease = repo.claim_changes(clock.now(), limit=5, lease=lease)

        assert [c.id for c in first] == sorted(c.id for c in first)
        assert len(first) == 2
        assert len(second) == 1
        assert {c.id for c in first}.isdisjoint(c.id for c in second)
        assert third == []
        assert len(after_lease) == 3

    def test_a_change_not_done_is_released_for_the_next_claim(
        self, repo: OutboxRepository, clock: FrozenClock
    ) -> None:
        repo.add(new_payment(clock))
        repo.add(new_payment(clock))
        lease = timedelta(minutes=1)
        failed, finished = repo.claim_changes(clock.now(), limit=5, lease=lease)

        repo.mark_delivered(
            [
                Delivery(change_id=failed.id, to=frozenset({"a"}), done=False),
                Delivery(change_id=finished.id, to=frozenset({"a"}), done=True),
            ]
        )

        (again,) = repo.claim_changes(clock.now(), limit=5, lease=lease)
        assert again.id == failed.id
        assert again.delivered_to == frozenset({"a"})
        assert [c.id for c in repo.pending_changes(limit=5)] == [failed.id]

    def test_changes_nobody_new_has_seen_are_retired_or_released(
        self, repo: OutboxRepository, clock: FrozenClock
    ) -> None:
        for _ in range(3):
            repo.add(new_payment(clock))
        lease = timedelta(minutes=1)
        retired, released, kept = repo.claim_changes(clock.now(), limit=5, lease=lease)
        repo.mark_delivered([Delivery(change_id=kept.id, to=frozenset({"a"}), done=False)])
        (kept,) = repo.claim_changes(clock.now(), limit=5, lease=lease)

        repo.mark_delivered(
            [Delivery(change_id=retired.id, done=True), Delivery(change_id=released.id)]
        )
        repo.mark_delivered([Delivery(change_id=kept.id)])

        again = repo.claim_changes(clock.now(), limit=5, lease=lease)
        assert [c.id for c in again] == [released.id, kept.id]
        assert again[1].delivered_to == frozenset({"a"})
        assert retired.id not in [c.id for c in repo.pending_changes(limit=5)]
