"""The contract of the ``Refunds`` Protocol, with the refunds' claims and outbox changes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from attrs import evolve

from payments_core.errors import (
    ConcurrencyConflict,
    DuplicateReference,
    PaymentNotFound,
    RefundNotFound,
)
from payments_core.inmemory import FrozenClock
from payments_core.money import Money
from payments_core.payment import Payment, PaymentStatus
from payments_core.ports import Outbox, Payments, Refunds, Sweepable
from payments_core.refund import Refund, RefundKind, RefundStatus
from payments_core.testing._support import attempt_for, new_payment, raises, unique
from payments_core.values import Delivery, IdempotencyClaim, RefundChange, StatusChange

LEASE = timedelta(minutes=1)


class RefundsRepository(Payments, Refunds, Sweepable, Outbox, Protocol):
    """The suite's ``repo``: refunds of stored payments, claimed, their changes in the outbox."""


def new_refund(
    payment: Payment,
    clock: FrozenClock,
    *,
    amount: str = "10.50",
    kind: RefundKind = RefundKind.REQUESTED,
    reference: str | None = None,
) -> Refund:
    """An unsaved PENDING refund of the first attempt of the stored ``payment``."""
    assert payment.id is not None  # refunds are of stored payments
    return Refund.start(
        payment_id=payment.id,
        attempt=payment.attempts[0].reference,
        reference=reference or unique("RF"),
        amount=Money.parse(amount),
        reason="damaged box 盒子",
        kind=kind,
        at=clock.now(),
    )


class RefundsContract:
    """What every ``Refunds`` store does. Fixtures: ``repo`` (empty) and ``clock``."""

    def test_add_assigns_an_id_and_version_one_and_records_the_creation(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        payment = repo.add(new_payment(clock))
        clock.advance(timedelta(microseconds=250_000))

        stored = repo.add_refund(new_refund(payment, clock))

        assert stored.id is not None
        assert stored.version == 1
        assert repo.get_refund(stored.id) == stored
        created = _refund_changes(repo)
        assert [(c.refund_id, c.payment_id, c.previous, c.current) for c in created] == [
            (stored.id, payment.id, None, RefundStatus.PENDING)
        ]
        assert created[0].at == stored.created_at

    def test_a_refund_reads_back_exactly(self, repo: RefundsRepository, clock: FrozenClock) -> None:
        payment = repo.add(new_payment(clock))
        clock.advance(timedelta(microseconds=123_000))
        stored = repo.add_refund(new_refund(payment, clock, amount="0.01"))
        clock.advance(timedelta(seconds=3))
        done = repo.save_refund(stored.succeed(at=clock.now()), previous=stored)
        failed = repo.add_refund(evolve(new_refund(payment, clock), reason=None))
        refused = repo.save_refund(
            failed.fail("REFUND_AMT_NOT_EQUAL", at=clock.now()), previous=failed
        )

        assert repo.get_refund(stored.id or 0) == done
        assert done.amount == Money(1, "CNY")
        assert done.succeeded_at == clock.now()
        assert done.created_at.utcoffset() == timedelta(0)
        assert (done.acknowledged, done.reason, done.kind) == (
            True,
            "damaged box 盒子",
            RefundKind.REQUESTED,
        )
        assert repo.get_refund(failed.id or 0) == refused
        assert (refused.failure, refused.reason, refused.succeeded_at) == (
            "REFUND_AMT_NOT_EQUAL",
            None,
            None,
        )

    def test_a_refund_reference_is_unique_forever(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        first, second = repo.add(new_payment(clock)), repo.add(new_payment(clock))
        taken = repo.add_refund(new_refund(first, clock))
        repo.save_refund(taken.fail("NO", at=clock.now()), previous=taken)

        for payment in (first, second):
            with raises(DuplicateReference):
                repo.add_refund(new_refund(payment, clock, reference=taken.reference))

        assert repo.refunds_for(second.id or 0) == []
        assert len(_refund_changes(repo)) == 2  # the first refund's creation and failure

    def test_a_refund_of_a_missing_payment_is_refused(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        ghost = evolve(new_payment(clock), id=987654321)

        with raises(PaymentNotFound):
            repo.add_refund(new_refund(ghost, clock))

        assert repo.refunds_in(RefundStatus.PENDING, limit=10) == []
        assert repo.pending_changes(limit=10) == []

    def test_an_idempotency_record_is_stored_with_the_refund(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        payment = repo.add(new_payment(clock))
        claim = IdempotencyClaim(payer="alice", key=unique("k"), fingerprint="f1")

        stored = repo.add_refund(new_refund(payment, clock), idempotency=claim)

        record = repo.find_idempotent_refund("alice", claim.key)
        assert record is not None
        assert (record.requester, record.key, record.fingerprint, record.refund_id) == (
            "alice",
            claim.key,
            "f1",
            stored.id,
        )
        assert repo.find_idempotent_refund("bob", claim.key) is None

    def test_a_taken_refund_idempotency_key_stores_nothing(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        payment = repo.add(new_payment(clock))
        claim = IdempotencyClaim(payer="alice", key=unique("k"), fingerprint="f1")
        first = repo.add_refund(new_refund(payment, clock), idempotency=claim)

        with raises(DuplicateReference):
            repo.add_refund(new_refund(payment, clock), idempotency=evolve(claim, fingerprint="f2"))

        assert repo.refunds_for(payment.id or 0) == [first]
        record = repo.find_idempotent_refund("alice", claim.key)
        assert record is not None
        assert (record.fingerprint, record.refund_id) == ("f1", first.id)
        assert len(_refund_changes(repo)) == 1

    def test_get_of_an_unknown_refund_raises_refund_not_found(
        self, repo: RefundsRepository
    ) -> None:
        with raises(RefundNotFound):
            repo.get_refund(987654321)

    def test_refunds_for_lists_one_payments_refunds_oldest_first(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        payment, other = repo.add(new_payment(clock)), repo.add(new_payment(clock))
        first = repo.add_refund(new_refund(payment, clock))
        repo.add_refund(new_refund(other, clock))
        second = repo.add_refund(new_refund(payment, clock, kind=RefundKind.DUPLICATE))

        assert repo.refunds_for(payment.id or 0) == [first, second]
        assert repo.refunds_for(987654321) == []

    def test_refunds_in_pages_through_one_status_by_id(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        payment = repo.add(new_payment(clock))
        refunds = [repo.add_refund(new_refund(payment, clock)) for _ in range(5)]
        failed = repo.save_refund(refunds[1].fail("NO", at=clock.now()), previous=refunds[1])
        pending = [refunds[0], *refunds[2:]]

        page = repo.refunds_in(RefundStatus.PENDING, limit=2)
        rest = repo.refunds_in(RefundStatus.PENDING, limit=10, after=page[-1].id or 0)

        assert page == pending[:2]
        assert rest == pending[2:]
        assert repo.refunds_in(RefundStatus.FAILED, limit=10) == [failed]
        assert repo.refunds_in(RefundStatus.SUCCEEDED, limit=10) == []
        assert repo.refunds_in(RefundStatus.PENDING, limit=10, after=pending[-1].id or 0) == []

    def test_save_refund_increments_the_version_and_records_only_status_changes(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        payment = repo.add(new_payment(clock))
        stored = repo.add_refund(new_refund(payment, clock))
        clock.advance(timedelta(seconds=1))
        acknowledged = repo.save_refund(stored.acknowledge(at=clock.now()), previous=stored)
        clock.advance(timedelta(seconds=1))
        done = repo.save_refund(acknowledged.succeed(at=clock.now()), previous=acknowledged)

        assert (acknowledged.version, done.version) == (2, 3)
        assert repo.get_refund(stored.id or 0) == done
        changes = _refund_changes(repo)
        assert [(c.previous, c.current) for c in changes] == [
            (None, RefundStatus.PENDING),
            (RefundStatus.PENDING, RefundStatus.SUCCEEDED),
        ]
        assert changes[1].at == done.updated_at

    def test_a_stale_save_refund_raises_and_changes_nothing(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        payment = repo.add(new_payment(clock))
        stored = repo.add_refund(new_refund(payment, clock))
        winner = repo.save_refund(stored.succeed(at=clock.now()), previous=stored)

        with raises(ConcurrencyConflict):
            repo.save_refund(stored.fail("LATE", at=clock.now()), previous=stored)

        assert repo.get_refund(stored.id or 0) == winner
        assert [c.current for c in _refund_changes(repo)] == [
            RefundStatus.PENDING,
            RefundStatus.SUCCEEDED,
        ]

    def test_save_refund_of_an_unknown_refund_raises_refund_not_found(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        payment = repo.add(new_payment(clock))
        ghost = evolve(new_refund(payment, clock), id=987654321, version=1)

        with raises(RefundNotFound):
            repo.save_refund(ghost.succeed(at=clock.now()), previous=ghost)

    def test_concurrent_refund_saves_of_one_version_let_exactly_one_win(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        payment = repo.add(new_payment(clock))
        stored = repo.add_refund(new_refund(payment, clock))
        outcomes: list[str] = []
        start = threading.Barrier(6)

        def settle(n: int) -> None:
            start.wait()
            moved = stored.succeed(at=clock.now()) if n % 2 else stored.fail("X", at=clock.now())
            try:
                repo.save_refund(moved, previous=stored)
                outcomes.append("won")
            except ConcurrencyConflict:
                outcomes.append("conflict")

        _run_together(settle, 6)

        assert sorted(outcomes) == ["conflict"] * 5 + ["won"]
        assert repo.get_refund(stored.id or 0).version == 2
        assert len(_refund_changes(repo)) == 2

    def test_refunds_saved_with_a_payment_are_stored_with_it(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        stored = repo.add(new_payment(clock))
        paid = stored.confirm(stored.attempts[0].reference, trade_id=unique("T"), at=clock.now())
        extra = attempt_for(clock)
        flagged = paid.with_attempt(extra, at=clock.now()).flag_refund(
            extra.reference, trade_id=unique("T"), at=clock.now(), paid=Money.parse("1000.12")
        )
        duplicate = evolve(
            new_refund(stored, clock, kind=RefundKind.DUPLICATE), attempt=extra.reference
        )

        saved = repo.save(flagged, previous=stored, refunds=[duplicate])

        (refund,) = repo.refunds_for(saved.id or 0)
        assert refund.id is not None
        assert refund.version == 1
        assert evolve(refund, id=None, version=0) == duplicate
        changes = repo.pending_changes(limit=10)  # their order within one save is the store's
        created = [c for c in changes if isinstance(c, RefundChange)]
        assert sorted(type(c).__name__ for c in changes) == ["RefundChange", *["StatusChange"] * 2]
        assert [(c.refund_id, c.previous, c.current) for c in created] == [
            (refund.id, None, RefundStatus.PENDING)
        ]

    def test_a_refund_that_cannot_be_stored_fails_the_payment_save_too(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        other = repo.add(new_payment(clock))
        taken = repo.add_refund(new_refund(other, clock))
        stored = repo.add(new_payment(clock))
        paid = stored.confirm(stored.attempts[0].reference, trade_id=unique("T"), at=clock.now())
        fresh = new_refund(stored, clock, kind=RefundKind.REJECTED)
        clash = new_refund(stored, clock, kind=RefundKind.REJECTED, reference=taken.reference)
        twins = new_refund(stored, clock, kind=RefundKind.REJECTED, reference=fresh.reference)
        before = repo.pending_changes(limit=100)

        for refunds in ([fresh, clash], [fresh, twins]):
            with raises(DuplicateReference):
                repo.save(paid, previous=stored, refunds=refunds)

        assert repo.get(stored.id or 0) == stored
        assert repo.refunds_for(stored.id or 0) == []
        assert repo.pending_changes(limit=100) == before
        saved = repo.save(paid, previous=stored, refunds=[fresh])
        assert saved.version == 2
        assert [r.reference for r in repo.refunds_for(stored.id or 0)] == [fresh.reference]

    def test_claim_due_refunds_claims_pending_refunds_oldest_first(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        payment = repo.add(new_payment(clock))
        first, done, failed, last = (repo.add_refund(new_refund(payment, clock)) for _ in range(4))
        repo.save_refund(done.succeed(at=clock.now()), previous=done)
        repo.save_refund(failed.fail("NO", at=clock.now()), previous=failed)
        acknowledged = repo.save_refund(last.acknowledge(at=clock.now()), previous=last)

        due = repo.claim_due_refunds(clock.now(), limit=10, lease=LEASE)

        assert list(due) == [first, acknowledged]

    def test_claimed_refunds_are_skipped_until_the_lease_ends(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        payment = repo.add(new_payment(clock))
        refunds = [repo.add_refund(new_refund(payment, clock)) for _ in range(3)]

        first = repo.claim_due_refunds(clock.now(), limit=2, lease=LEASE)
        second = repo.claim_due_refunds(clock.now(), limit=5, lease=LEASE)
        third = repo.claim_due_refunds(clock.now(), limit=5, lease=LEASE)
        clock.advance(LEASE - timedelta(seconds=1))
        still = repo.claim_due_refunds(clock.now(), limit=5, lease=LEASE)
        clock.advance(timedelta(seconds=1))
        after_lease = repo.claim_due_refunds(clock.now(), limit=5, lease=LEASE)

        assert [r.id for r in first] == [refunds[0].id, refunds[1].id]
        assert [r.id for r in second] == [refunds[2].id]
        assert (third, still) == ([], [])
        assert [r.id for r in after_lease] == [r.id for r in refunds]

    def test_a_claimed_refund_that_settles_is_no_longer_due(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        payment = repo.add(new_payment(clock))
        done, failed = (repo.add_refund(new_refund(payment, clock)) for _ in range(2))
        assert len(repo.claim_due_refunds(clock.now(), limit=5, lease=LEASE)) == 2
        repo.save_refund(done.succeed(at=clock.now()), previous=done)
        repo.save_refund(failed.fail("NO", at=clock.now()), previous=failed)
        clock.advance(LEASE)

        assert repo.claim_due_refunds(clock.now(), limit=5, lease=LEASE) == []

    def test_concurrent_claimers_never_share_a_refund(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        payment = repo.add(new_payment(clock))
        ids = {repo.add_refund(new_refund(payment, clock)).id for _ in range(12)}
        claimed: list[list[int | None]] = []
        start = threading.Barrier(4)

        def claim(_: int) -> None:
            start.wait()
            mine: list[int | None] = []
            while batch := repo.claim_due_refunds(clock.now(), limit=2, lease=LEASE):
                mine.extend(r.id for r in batch)
            claimed.append(mine)

        _run_together(claim, 4)

        every = [rid for mine in claimed for rid in mine]
        assert sorted(every, key=str) == sorted(ids, key=str)  # each claimed exactly once

    def test_refund_and_payment_changes_share_one_outbox_order(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        payment = repo.add(new_payment(clock))
        refund = repo.add_refund(new_refund(payment, clock))
        repo.save(payment.transition(PaymentStatus.TIMEOUT, at=clock.now()), previous=payment)
        repo.save_refund(refund.succeed(at=clock.now()), previous=refund)

        changes = repo.pending_changes(limit=10)

        assert [type(c) for c in changes] == [
            StatusChange,
            RefundChange,
            StatusChange,
            RefundChange,
        ]
        assert [c.id for c in changes] == sorted({c.id for c in changes})
        assert [c.id for c in repo.claim_changes(clock.now(), limit=10, lease=LEASE)] == [
            c.id for c in changes
        ]

    def test_refund_changes_are_claimed_and_delivered_like_payment_changes(
        self, repo: RefundsRepository, clock: FrozenClock
    ) -> None:
        repo.register_subscribers(["shop", "crm"], clock.now())
        payment = repo.add(new_payment(clock))
        refund = repo.add_refund(new_refund(payment, clock))
        created, recorded = repo.claim_changes(clock.now(), limit=5, lease=LEASE, hooks=["shop"])
        assert repo.claim_changes(clock.now(), limit=5, lease=LEASE, hooks=["shop"]) == []

        repo.mark_delivered(
            [
                Delivery(change_id=created.id, to=frozenset({"shop", "crm"}), done=True),
                Delivery(change_id=recorded.id, to=frozenset({"shop"}), done=True),
            ]
        )

        (left,) = repo.pending_changes(limit=5)
        assert isinstance(left, RefundChange)
        assert (left.id, left.refund_id, left.delivered_to) == (
            recorded.id,
            refund.id,
            frozenset({"shop"}),
        )
        assert repo.claim_changes(clock.now(), limit=5, lease=LEASE, hooks=["shop"]) == []
        assert [
            c.id for c in repo.claim_changes(clock.now(), limit=5, lease=LEASE, hooks=["crm"])
        ] == [left.id]
        shop = next(s for s in repo.subscribers() if s.name == "shop")
        crm = next(s for s in repo.subscribers() if s.name == "crm")
        assert (shop.pending, crm.pending) == (0, 1)
        assert repo.retire_subscriber("crm", clock.now()) == 1
        assert repo.pending_changes(limit=5) == []


def _refund_changes(repo: Outbox) -> list[RefundChange]:
    return [c for c in repo.pending_changes(limit=1000) if isinstance(c, RefundChange)]


def _run_together(work: Callable[[int], None], count: int) -> None:
    """Run ``work(n)`` on ``count`` threads and wait for all of them."""
    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
