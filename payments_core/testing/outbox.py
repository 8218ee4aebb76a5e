"""The contract of the ``Outbox`` Protocol: every status change, claimed and delivered."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from attrs import evolve

from payments_core.errors import SubscriberNotFound
from payments_core.inmemory import FrozenClock
from payments_core.payment import PaymentStatus
from payments_core.ports import Outbox, Payments
from payments_core.testing._support import new_payment, raises
from payments_core.testing.listing import KeptHistoryContract
from payments_core.values import SUBSCRIBER_NAME_MAX, Delivery

LEASE = timedelta(minutes=1)


class OutboxRepository(Payments, Outbox, Protocol):
    """The suite's ``repo``: ``Payments`` records the status changes the ``Outbox`` hands out."""


class OutboxContract(KeptHistoryContract):
    """What every ``Outbox`` does (delivered changes stay readable: ``KeptHistoryContract``). Fixtures: ``repo`` (empty) and ``clock``."""

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

    def test_a_change_stays_pending_until_every_subscriber_has_it(
        self, repo: OutboxRepository, clock: FrozenClock
    ) -> None:
        repo.register_subscribers(["shop", "crm"], clock.now())
        repo.add(new_payment(clock))
        (change,) = repo.pending_changes(limit=5)

        repo.mark_delivered([Delivery(change_id=change.id, to=frozenset({"shop"}), done=True)])
        (still,) = repo.pending_changes(limit=5)
        repo.mark_delivered([Delivery(change_id=change.id, to=frozenset({"crm"}), done=True)])

        assert still.delivered_to == frozenset({"shop"})
        assert repo.pending_changes(limit=5) == []

    def test_a_process_without_a_subscribers_hook_retires_nothing(
        self, repo: OutboxRepository, clock: FrozenClock
    ) -> None:
        repo.register_subscribers(["shop"], clock.now())
        repo.add(new_payment(clock))
        (change,) = repo.pending_changes(limit=5)

        claimed = repo.claim_changes(clock.now(), limit=5, lease=LEASE)
        repo.mark_delivered([Delivery(change_id=change.id, done=True)])

        assert claimed == []
        assert [c.id for c in repo.pending_changes(limit=5)] == [change.id]

    def test_only_changes_missing_one_of_the_callers_hooks_are_claimed(
        self, repo: OutboxRepository, clock: FrozenClock
    ) -> None:
        repo.register_subscribers(["shop", "crm"], clock.now())
        repo.add(new_payment(clock))
        repo.add(new_payment(clock))
        heard_by_shop, unheard = repo.pending_changes(limit=5)
        shop_only = Delivery(change_id=heard_by_shop.id, to=frozenset({"shop"}), done=True)
        repo.mark_delivered([shop_only])

        for_shop = repo.claim_changes(clock.now(), limit=5, lease=LEASE, hooks=["shop"])
        repo.mark_delivered([Delivery(change_id=c.id) for c in for_shop])
        for_crm = repo.claim_changes(clock.now(), limit=5, lease=LEASE, hooks=["crm"])

        assert [c.id for c in for_shop] == [unheard.id]
        assert [c.id for c in for_crm] == [heard_by_shop.id, unheard.id]

    def test_without_subscribers_every_change_is_claimed_and_retired(
        self, repo: OutboxRepository, clock: FrozenClock
    ) -> None:
        repo.add(new_payment(clock))
        repo.register_subscribers(["shop"], clock.now())
        retired = repo.retire_subscriber("shop", clock.now())  # the last one: nobody waits
        repo.add(new_payment(clock))
        repo.add(new_payment(clock))

        claimed = repo.claim_changes(clock.now(), limit=5, lease=LEASE)
        repo.mark_delivered([Delivery(change_id=c.id, done=True) for c in claimed])

        assert (retired, len(claimed)) == (1, 2)
        assert repo.pending_changes(limit=5) == []

    def test_retiring_a_subscriber_retires_the_changes_only_it_lacked(
        self, repo: OutboxRepository, clock: FrozenClock
    ) -> None:
        repo.register_subscribers(["shop", "gone"], clock.now())
        for _ in range(3):
            repo.add(new_payment(clock))
        heard, unheard, heard_by_gone = repo.pending_changes(limit=5)
        repo.mark_delivered(
            [
                Delivery(change_id=heard.id, to=frozenset({"shop"}), done=True),
                Delivery(change_id=heard_by_gone.id, to=frozenset({"gone"}), done=True),
            ]
        )
        clock.advance(timedelta(hours=1))

        retired = repo.retire_subscriber("gone", clock.now())
        again = repo.retire_subscriber("gone", clock.now())

        assert (retired, again) == (1, 0)
        assert [c.id for c in repo.pending_changes(limit=5)] == [unheard.id, heard_by_gone.id]
        gone, shop = repo.subscribers()  # by name
        assert (shop.name, shop.active, shop.pending) == ("shop", True, 2)
        assert (gone.name, gone.retired_at, gone.pending) == ("gone", clock.now(), 0)

    def test_registering_is_idempotent_and_brings_a_retired_subscriber_back(
        self, repo: OutboxRepository, clock: FrozenClock
    ) -> None:
        repo.register_subscribers(["shop"], clock.now())
        repo.register_subscribers(["shop"], clock.now())
        repo.retire_subscriber("shop", clock.now())
        clock.advance(timedelta(minutes=5))
        repo.add(new_payment(clock))

        repo.register_subscribers(["shop"], clock.now())

        (shop,) = repo.subscribers()
        assert (shop.name, shop.active, shop.registered_at, shop.pending) == (
            "shop",
            True,
            clock.now(),
            1,
        )
        assert repo.claim_changes(clock.now(), limit=5, lease=LEASE) == []

    def test_retiring_an_unknown_subscriber_is_refused(
        self, repo: OutboxRepository, clock: FrozenClock
    ) -> None:
        with raises(SubscriberNotFound):
            repo.retire_subscriber("never-registered", clock.now())

    def test_a_name_that_cannot_be_stored_refuses_the_whole_registration(
        self, repo: OutboxRepository, clock: FrozenClock
    ) -> None:
        for bad in ['say "hi"', "back\\slash", "", "x" * (SUBSCRIBER_NAME_MAX + 1), "line\nbreak"]:
            with raises(ValueError):
                repo.register_subscribers(["fine", bad], clock.now())

        assert list(repo.subscribers()) == []
