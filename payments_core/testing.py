"""Contract suites every adapter of a port must pass, importable by third-party plugins.

Subclass a suite in a test module and provide its fixtures; pytest runs every
``test_`` method against your adapter. This module imports no test framework, so
it stays inside the core's dependency rule::

    class TestMyRepository(RepositoryContract):
        @pytest.fixture
        def repo(self, clock): ...   # an EMPTY repository per test
        @pytest.fixture
        def clock(self): return FrozenClock()
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Protocol

from attrs import evolve

from payments_core.errors import (
    ConcurrencyConflict,
    DuplicateReference,
    DuplicateTradeId,
    PaymentExists,
    PaymentNotFound,
    SignatureInvalid,
    VendorError,
)
from payments_core.inmemory import FrozenClock
from payments_core.money import Money
from payments_core.payment import Attempt, AttemptState, Payment, PaymentStatus
from payments_core.ports import PaymentRepository, VendorGateway
from payments_core.values import (
    CheckoutRequest,
    Delivery,
    IdempotencyClaim,
    NotificationOutcome,
    TradeStatus,
)


@contextmanager
def raises(kind: type[BaseException]) -> Iterator[list[BaseException]]:
    """Assert that the block raises ``kind``; the list holds the error afterwards."""
    caught: list[BaseException] = []
    try:
        yield caught
    except kind as exc:
        caught.append(exc)
        return
    raise AssertionError(f"{kind.__name__} was not raised")


def unique(prefix: str) -> str:
    """An id no other test run uses."""
    return f"{prefix}{secrets.token_hex(6)}"


def attempt_for(clock: FrozenClock, *, minutes: int = 15) -> Attempt:
    """A new open attempt with a unique reference."""
    now = clock.now()
    return Attempt(
        reference=unique("R"),
        order_string=f"https://vendor.invalid/pay?{secrets.token_hex(4)}",
        opened_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )


def new_payment(clock: FrozenClock, *, order_id: str | None = None, minutes: int = 15) -> Payment:
    """An unsaved PENDING payment with one attempt, for a unique order."""
    return Payment.start(
        order_id=order_id or unique("order-"),
        payer="alice",
        subject="Tea 茶 ☕",
        description="two boxes",
        amount=Money.parse("1000.12"),
        vendor="fake",
        attempt=attempt_for(clock, minutes=minutes),
    )


class RepositoryContract:
    """What every PaymentRepository does. Fixtures: ``repo`` (empty) and ``clock``."""

    def test_add_assigns_an_id_and_version_one(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        stored = repo.add(new_payment(clock))

        assert stored.id is not None
        assert stored.version == 1
        assert repo.get(stored.id) == stored

    def test_a_payment_reads_back_exactly(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        clock.advance(timedelta(microseconds=123_000))
        stored = repo.add(new_payment(clock))
        confirmed = stored.confirm(stored.attempts[0].reference, trade_id="T1", at=clock.now())
        saved = repo.save(confirmed, previous=stored)

        loaded = repo.get(saved.id or 0)

        assert loaded == saved
        assert loaded.amount == Money(100012, "CNY")
        assert loaded.created_at.utcoffset() == timedelta(0)
        assert loaded.subject == "Tea 茶 ☕"

    def test_ids_are_distinct(self, repo: PaymentRepository, clock: FrozenClock) -> None:
        ids = {repo.add(new_payment(clock)).id for _ in range(5)}

        assert len(ids) == 5

    def test_get_of_an_unknown_id_raises_payment_not_found(self, repo: PaymentRepository) -> None:
        with raises(PaymentNotFound):
            repo.get(987654321)

    def test_get_by_reference_finds_the_owner_of_any_attempt(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        stored = repo.add(new_payment(clock))
        extra = attempt_for(clock)
        saved = repo.save(stored.with_attempt(extra, at=clock.now()), previous=stored)

        assert repo.get_by_reference(stored.attempts[0].reference).id == saved.id
        assert repo.get_by_reference(extra.reference) == saved

    def test_get_by_an_unknown_reference_raises_payment_not_found(
        self, repo: PaymentRepository
    ) -> None:
        with raises(PaymentNotFound):
            repo.get_by_reference("NO_SUCH_REFERENCE")

    def test_a_second_live_payment_for_an_order_is_refused(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        first = repo.add(new_payment(clock))

        with raises(PaymentExists) as caught:
            repo.add(new_payment(clock, order_id=first.order_id))

        assert isinstance(caught[0], PaymentExists)
        assert caught[0].payment_id == first.id
        assert repo.find_for_order(first.order_id) == first

    def test_an_invalid_payment_does_not_hold_its_order(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        first = repo.add(new_payment(clock))
        rejected = first.reject(first.attempts[0].reference, trade_id="T9", at=clock.now())
        repo.save(rejected, previous=first)

        second = repo.add(new_payment(clock, order_id=first.order_id))

        assert second.id != first.id
        assert repo.find_for_order(first.order_id) == second

    def test_find_for_order_without_payment_is_none(self, repo: PaymentRepository) -> None:
        assert repo.find_for_order(unique("order-")) is None

    def test_a_reused_attempt_reference_is_refused_on_add(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        first = repo.add(new_payment(clock))
        twin = evolve(new_payment(clock), attempts=first.attempts)

        with raises(DuplicateReference):
            repo.add(twin)

        assert repo.find_for_order(twin.order_id) is None

    def test_a_reused_attempt_reference_is_refused_on_save(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        first = repo.add(new_payment(clock))
        second = repo.add(new_payment(clock))
        stolen = second.with_attempt(first.attempts[0], at=clock.now())

        with raises(DuplicateReference):
            repo.save(stolen, previous=second)

        assert repo.get(second.id or 0) == second

    def test_save_increments_the_version(self, repo: PaymentRepository, clock: FrozenClock) -> None:
        stored = repo.add(new_payment(clock))

        saved = repo.save(evolve(stored, subject="renamed"), previous=stored)

        assert saved.version == 2
        assert repo.get(stored.id or 0) == saved

    def test_a_stale_save_raises_and_changes_nothing(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        stored = repo.add(new_payment(clock))
        winner = repo.save(evolve(stored, subject="first"), previous=stored)

        with raises(ConcurrencyConflict):
            repo.save(evolve(stored, subject="second"), previous=stored)

        assert repo.get(stored.id or 0) == winner

    def test_save_of_an_unknown_payment_raises_payment_not_found(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        ghost = evolve(new_payment(clock), id=987654321, version=1)

        with raises(PaymentNotFound):
            repo.save(ghost, previous=ghost)

    def test_concurrent_saves_of_one_version_let_exactly_one_win(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        stored = repo.add(new_payment(clock))
        outcomes: list[str] = []
        start = threading.Barrier(6)

        def confirm(n: int) -> None:
            start.wait()
            try:
                repo.save(evolve(stored, subject=f"writer {n}"), previous=stored)
                outcomes.append("won")
            except ConcurrencyConflict:
                outcomes.append("conflict")

        threads = [threading.Thread(target=confirm, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(outcomes) == ["conflict"] * 5 + ["won"]
        assert repo.get(stored.id or 0).version == 2

    def test_creation_and_each_status_change_are_recorded_once(
        self, repo: PaymentRepository, clock: FrozenClock
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
        self, repo: PaymentRepository, clock: FrozenClock
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
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        repo.add(new_payment(clock))

        repo.mark_delivered([Delivery(change_id=987654321, to=frozenset({"a"}), done=True)])

        assert len(repo.pending_changes(limit=100)) == 1

    def test_claimed_changes_are_skipped_until_the_lease_ends(
        self, repo: PaymentRepository, clock: FrozenClock
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
        self, repo: PaymentRepository, clock: FrozenClock
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
        self, repo: PaymentRepository, clock: FrozenClock
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

    def test_an_idempotency_record_is_stored_with_the_payment(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        claim = IdempotencyClaim(payer="alice", key=unique("k"), fingerprint="f1")

        stored = repo.add(new_payment(clock), idempotency=claim)

        assert stored.id is not None
        assert repo.find_idempotent("alice", claim.key) == claim.recorded(stored.id)
        assert repo.find_idempotent("bob", claim.key) is None

    def test_a_taken_idempotency_key_stores_nothing(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        record = IdempotencyClaim(payer="alice", key=unique("k"), fingerprint="f1")
        repo.add(new_payment(clock), idempotency=record)
        loser = new_payment(clock)

        with raises(DuplicateReference):
            repo.add(loser, idempotency=evolve(record, fingerprint="f2"))

        assert repo.find_for_order(loser.order_id) is None
        assert repo.find_idempotent("alice", record.key).fingerprint == "f1"  # type: ignore[union-attr]  # asserted present above

    def test_claim_due_returns_open_attempts_oldest_expiry_first(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        late = repo.add(new_payment(clock, minutes=30))
        early = repo.add(new_payment(clock, minutes=5))

        due = repo.claim_due(clock.now(), limit=10, lease=timedelta(minutes=1))

        assert [(d.payment_id, d.reference) for d in due] == [
            (early.id, early.attempts[0].reference),
            (late.id, late.attempts[0].reference),
        ]

    def test_claimed_attempts_are_skipped_until_the_lease_ends(
        self, repo: PaymentRepository, clock: FrozenClock
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
        self, repo: PaymentRepository, clock: FrozenClock
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

    def test_attempt_states_and_trade_ids_read_back(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        stored = repo.add(new_payment(clock))
        ref = stored.attempts[0].reference
        paid = stored.confirm(ref, trade_id="2024T1", at=clock.now())
        dup = attempt_for(clock)
        flagged = paid.with_attempt(dup, at=clock.now()).flag_refund(
            dup.reference, trade_id="2024T2", at=clock.now()
        )

        saved = repo.save(flagged, previous=stored)

        loaded = repo.get(saved.id or 0)
        assert [a.state for a in loaded.attempts] == [AttemptState.PAID, AttemptState.DUPLICATE]
        assert loaded.vendor_trade_id == "2024T1"
        assert loaded.confirmed_at == clock.now()

    def test_one_trade_id_never_settles_attempts_of_two_payments(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        first, second = repo.add(new_payment(clock)), repo.add(new_payment(clock))
        trade = unique("T")
        repo.save(_paid(first, trade, clock), previous=first)

        with raises(DuplicateTradeId) as caught:
            repo.save(_paid(second, trade, clock), previous=second)

        assert isinstance(caught[0], DuplicateTradeId)
        assert (caught[0].vendor, caught[0].trade_id) == (second.vendor, trade)
        assert repo.get(second.id or 0) == second

    def test_one_trade_id_never_settles_two_attempts_of_one_payment(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        stored = repo.add(new_payment(clock))
        trade = unique("T")
        extra = attempt_for(clock)
        twice = (
            _paid(stored, trade, clock)
            .with_attempt(extra, at=clock.now())
            .flag_refund(extra.reference, trade_id=trade, at=clock.now())
        )

        with raises(DuplicateTradeId):
            repo.save(twice, previous=stored)

        assert repo.get(stored.id or 0) == stored

    def test_a_trade_id_already_recorded_is_refused_on_add(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        first = repo.add(new_payment(clock))
        trade = unique("T")
        repo.save(_paid(first, trade, clock), previous=first)
        newcomer = _paid(new_payment(clock), trade, clock)

        with raises(DuplicateTradeId):
            repo.add(newcomer)

        assert repo.find_for_order(newcomer.order_id) is None

    def test_the_same_trade_id_at_another_vendor_is_another_trade(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        first = repo.add(new_payment(clock))
        other = repo.add(evolve(new_payment(clock), vendor="other"))
        trade = unique("T")
        repo.save(_paid(first, trade, clock), previous=first)

        saved = repo.save(_paid(other, trade, clock), previous=other)

        assert repo.get(other.id or 0).vendor_trade_id == trade == saved.vendor_trade_id

    def test_a_payment_saved_again_keeps_its_own_trade_id(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        stored = repo.add(new_payment(clock))
        paid = repo.save(_paid(stored, unique("T"), clock), previous=stored)
        extra = attempt_for(clock)
        flagged = paid.with_attempt(extra, at=clock.now()).flag_refund(
            extra.reference, trade_id=unique("T"), at=clock.now()
        )

        again = repo.save(flagged, previous=paid)
        renamed = repo.save(evolve(again, subject="renamed"), previous=again)

        assert repo.get(stored.id or 0) == renamed

    def test_concurrent_settlements_with_one_trade_id_let_exactly_one_win(
        self, repo: PaymentRepository, clock: FrozenClock
    ) -> None:
        payments = [repo.add(new_payment(clock)) for _ in range(6)]
        trade = unique("T")
        outcomes: list[str] = []
        start = threading.Barrier(len(payments))

        def settle(payment: Payment) -> None:
            start.wait()
            try:
                repo.save(_paid(payment, trade, clock), previous=payment)
                outcomes.append("won")
            except DuplicateTradeId:
                outcomes.append("refused")

        threads = [threading.Thread(target=settle, args=(p,)) for p in payments]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(outcomes) == ["refused"] * 5 + ["won"]
        settled = [p for p in payments if repo.get(p.id or 0).vendor_trade_id == trade]
        assert len(settled) == 1


def _paid(payment: Payment, trade_id: str, clock: FrozenClock) -> Payment:
    """``payment`` confirmed through its first attempt with the vendor's ``trade_id``."""
    return payment.confirm(payment.attempts[0].reference, trade_id=trade_id, at=clock.now())


class Buyer(Protocol):
    """A test's way to act as the buyer at the vendor under test."""

    def pay(self, reference: str) -> None:
        """Pay the attempt in full. Raises any exception when the vendor refuses."""
        ...

    def notification(self, reference: str) -> tuple[bytes, str]:
        """The genuine notification body and content type the vendor sends for a paid attempt."""
        ...


class VendorContract:
    """What every VendorGateway does. Fixtures: ``vendor``, ``buyer`` (a Buyer) and ``clock``."""

    def _open(
        self, vendor: VendorGateway, clock: FrozenClock, amount: str = "88.88"
    ) -> CheckoutRequest:
        request = CheckoutRequest(
            reference=unique("C"),
            amount=Money.parse(amount),
            subject="Contract 测试",
            description="a contract test",
            expires_at=clock.now() + timedelta(minutes=15),
        )
        checkout = vendor.open_checkout(request)
        assert checkout.order_string
        assert checkout.expires_at <= request.expires_at
        return request

    def test_name_is_a_lowercase_word(self, vendor: VendorGateway) -> None:
        assert vendor.name.isidentifier()
        assert vendor.name == vendor.name.lower()

    def test_a_new_attempt_is_unpaid(self, vendor: VendorGateway, clock: FrozenClock) -> None:
        request = self._open(vendor, clock)

        report = vendor.query(request.reference)

        assert report.status is TradeStatus.UNPAID
        assert report.reference == request.reference
        assert report.vendor == vendor.name

    def test_an_unknown_attempt_is_unpaid(self, vendor: VendorGateway) -> None:
        assert vendor.query(unique("NEVER")).status is TradeStatus.UNPAID

    def test_a_paid_attempt_reports_amount_and_trade_id(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        request = self._open(vendor, clock, "1000.12")

        buyer.pay(request.reference)
        report = vendor.query(request.reference)

        assert report.status is TradeStatus.PAID
        assert report.amount == request.amount
        assert report.trade_id
        assert report.merchant_matches

    def test_a_closed_attempt_cannot_be_paid(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        request = self._open(vendor, clock)

        vendor.close_attempt(request.reference)

        with raises(Exception):
            buyer.pay(request.reference)
        assert vendor.query(request.reference).status is not TradeStatus.PAID

    def test_closing_an_unknown_attempt_succeeds(self, vendor: VendorGateway) -> None:
        vendor.close_attempt(unique("NEVER"))

    def test_closing_a_paid_attempt_is_refused(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        request = self._open(vendor, clock)
        buyer.pay(request.reference)

        with raises(VendorError):
            vendor.close_attempt(request.reference)

        assert vendor.query(request.reference).status is TradeStatus.PAID

    def test_a_genuine_notification_reports_the_payment(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        request = self._open(vendor, clock, "12.30")
        buyer.pay(request.reference)
        body, content_type = buyer.notification(request.reference)

        report = vendor.parse_notification(body, content_type)

        assert report is not None
        assert report.status is TradeStatus.PAID
        assert report.reference == request.reference
        assert report.amount == request.amount
        assert vendor.reply(NotificationOutcome.APPLIED) != vendor.reply(NotificationOutcome.RETRY)

    def test_every_outcome_has_a_reply_and_only_applied_says_processed(
        self, vendor: VendorGateway
    ) -> None:
        replies = {outcome: vendor.reply(outcome) for outcome in NotificationOutcome}

        processed = replies.pop(NotificationOutcome.APPLIED)
        assert processed not in replies.values()  # else a vendor would never resend

    def test_a_tampered_notification_is_refused(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        request = self._open(vendor, clock, "12.30")
        buyer.pay(request.reference)
        body, content_type = buyer.notification(request.reference)
        tampered = body.replace(b"12.30", b"0.01")
        assert tampered != body

        with raises(SignatureInvalid):
            vendor.parse_notification(tampered, content_type)

    def test_a_garbage_notification_is_a_vendor_error(self, vendor: VendorGateway) -> None:
        for garbage in (b"", b"\xff\xfe", b"a=1&b=2", b"{}", b"sign=abc"):
            with raises(VendorError):
                vendor.parse_notification(garbage, "application/x-www-form-urlencoded")

    def test_amounts_are_exact(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        request = self._open(vendor, clock, "0.30")
        buyer.pay(request.reference)

        report = vendor.query(request.reference)

        assert report.amount is not None
        assert report.amount.to_decimal() == Decimal("0.30")
