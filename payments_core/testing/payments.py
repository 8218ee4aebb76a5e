"""The contract of the ``Payments`` Protocol: compare-and-set saves, one live payment per order."""

from __future__ import annotations

import threading
from datetime import timedelta

from attrs import evolve

from payments_core.errors import (
    ConcurrencyConflict,
    DuplicateReference,
    DuplicateTradeId,
    PaymentExists,
    PaymentNotFound,
)
from payments_core.inmemory import FrozenClock
from payments_core.money import Money
from payments_core.payment import AttemptState, Payment
from payments_core.ports import Payments
from payments_core.testing._support import attempt_for, new_payment, raises, unique
from payments_core.testing.listing import PaymentPagesContract


class PaymentsContract(PaymentPagesContract):
    """What every ``Payments`` does. Fixtures: ``repo`` (empty) and ``clock``."""

    def test_add_assigns_an_id_and_version_one(self, repo: Payments, clock: FrozenClock) -> None:
        stored = repo.add(new_payment(clock))

        assert stored.id is not None
        assert stored.version == 1
        assert repo.get(stored.id) == stored

    def test_a_payment_reads_back_exactly(self, repo: Payments, clock: FrozenClock) -> None:
        clock.advance(timedelta(microseconds=123_000))
        stored = repo.add(new_payment(clock))
        confirmed = stored.confirm(stored.attempts[0].reference, trade_id="T1", at=clock.now())
        saved = repo.save(confirmed, previous=stored)

        loaded = repo.get(saved.id or 0)

        assert loaded == saved
        assert loaded.amount == Money(100012, "CNY")
        assert loaded.created_at.utcoffset() == timedelta(0)
        assert loaded.subject == "Tea 茶 ☕"

    def test_ids_are_distinct(self, repo: Payments, clock: FrozenClock) -> None:
        ids = {repo.add(new_payment(clock)).id for _ in range(5)}

        assert len(ids) == 5

    def test_get_of_an_unknown_id_raises_payment_not_found(self, repo: Payments) -> None:
        with raises(PaymentNotFound):
            repo.get(987654321)

    def test_get_by_reference_finds_the_owner_of_any_attempt(
        self, repo: Payments, clock: FrozenClock
    ) -> None:
        stored = repo.add(new_payment(clock))
        extra = attempt_for(clock)
        saved = repo.save(stored.with_attempt(extra, at=clock.now()), previous=stored)

        assert repo.get_by_reference(stored.attempts[0].reference).id == saved.id
        assert repo.get_by_reference(extra.reference) == saved

    def test_get_by_an_unknown_reference_raises_payment_not_found(self, repo: Payments) -> None:
        with raises(PaymentNotFound):
            repo.get_by_reference("NO_SUCH_REFERENCE")

    def test_a_second_live_payment_for_an_order_is_refused(
        self, repo: Payments, clock: FrozenClock
    ) -> None:
        first = repo.add(new_payment(clock))

        with raises(PaymentExists) as caught:
            repo.add(new_payment(clock, order_id=first.order_id))

        assert isinstance(caught[0], PaymentExists)
        assert caught[0].payment_id == first.id
        assert repo.find_for_order(first.order_id) == first

    def test_an_invalid_payment_does_not_hold_its_order(
        self, repo: Payments, clock: FrozenClock
    ) -> None:
        first = repo.add(new_payment(clock))
        rejected = first.reject(first.attempts[0].reference, trade_id="T9", at=clock.now())
        repo.save(rejected, previous=first)

        second = repo.add(new_payment(clock, order_id=first.order_id))

        assert second.id != first.id
        assert repo.find_for_order(first.order_id) == second

    def test_find_for_order_without_payment_is_none(self, repo: Payments) -> None:
        assert repo.find_for_order(unique("order-")) is None

    def test_a_reused_attempt_reference_is_refused_on_add(
        self, repo: Payments, clock: FrozenClock
    ) -> None:
        first = repo.add(new_payment(clock))
        twin = evolve(new_payment(clock), attempts=first.attempts)

        with raises(DuplicateReference):
            repo.add(twin)

        assert repo.find_for_order(twin.order_id) is None

    def test_a_reused_attempt_reference_is_refused_on_save(
        self, repo: Payments, clock: FrozenClock
    ) -> None:
        first = repo.add(new_payment(clock))
        second = repo.add(new_payment(clock))
        stolen = second.with_attempt(first.attempts[0], at=clock.now())

        with raises(DuplicateReference):
            repo.save(stolen, previous=second)

        assert repo.get(second.id or 0) == second

    def test_save_increments_the_version(self, repo: Payments, clock: FrozenClock) -> None:
        stored = repo.add(new_payment(clock))

        saved = repo.save(evolve(stored, subject="renamed"), previous=stored)

        assert saved.version == 2
        assert repo.get(stored.id or 0) == saved

    def test_a_stale_save_raises_and_changes_nothing(
        self, repo: Payments, clock: FrozenClock
    ) -> None:
        stored = repo.add(new_payment(clock))
        winner = repo.save(evolve(stored, subject="first"), previous=stored)

        with raises(ConcurrencyConflict):
            repo.save(evolve(stored, subject="second"), previous=stored)

        assert repo.get(stored.id or 0) == winner

    def test_save_of_an_unknown_payment_raises_payment_not_found(
        self, repo: Payments, clock: FrozenClock
    ) -> None:
        ghost = evolve(new_payment(clock), id=987654321, version=1)

        with raises(PaymentNotFound):
            repo.save(ghost, previous=ghost)

    def test_concurrent_saves_of_one_version_let_exactly_one_win(
        self, repo: Payments, clock: FrozenClock
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

    def test_attempt_states_and_trade_ids_read_back(
        self, repo: Payments, clock: FrozenClock
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

    def test_the_amount_an_attempt_was_paid_reads_back(
        self, repo: Payments, clock: FrozenClock
    ) -> None:
        stored = repo.add(new_payment(clock))
        dup = attempt_for(clock)
        paid = stored.confirm(
            stored.attempts[0].reference,
            trade_id=unique("T"),
            at=clock.now(),
            paid=Money(100012, "CNY"),
        )
        flagged = paid.with_attempt(dup, at=clock.now()).flag_refund(
            dup.reference, trade_id=unique("T"), at=clock.now(), paid=Money.parse("99999999.99")
        )

        saved = repo.save(flagged, previous=stored)

        loaded = repo.get(saved.id or 0)
        assert loaded == saved
        assert [a.amount_paid for a in loaded.attempts] == [
            Money(100012, "CNY"),
            Money(9999999999, "CNY"),
        ]
        assert stored.attempts[0].amount_paid is None
        assert repo.get_by_reference(dup.reference).attempts[1].amount_paid == Money.parse(
            "99999999.99"
        )

    def test_one_trade_id_never_settles_attempts_of_two_payments(
        self, repo: Payments, clock: FrozenClock
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
        self, repo: Payments, clock: FrozenClock
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
        self, repo: Payments, clock: FrozenClock
    ) -> None:
        first = repo.add(new_payment(clock))
        trade = unique("T")
        repo.save(_paid(first, trade, clock), previous=first)
        newcomer = _paid(new_payment(clock), trade, clock)

        with raises(DuplicateTradeId):
            repo.add(newcomer)

        assert repo.find_for_order(newcomer.order_id) is None

    def test_the_same_trade_id_at_another_vendor_is_another_trade(
        self, repo: Payments, clock: FrozenClock
    ) -> None:
        first = repo.add(new_payment(clock))
        other = repo.add(evolve(new_payment(clock), vendor="other"))
        trade = unique("T")
        repo.save(_paid(first, trade, clock), previous=first)

        saved = repo.save(_paid(other, trade, clock), previous=other)

        assert repo.get(other.id or 0).vendor_trade_id == trade == saved.vendor_trade_id

    def test_a_payment_saved_again_keeps_its_own_trade_id(
        self, repo: Payments, clock: FrozenClock
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
        self, repo: Payments, clock: FrozenClock
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
