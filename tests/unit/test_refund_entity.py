"""The Refund entity's transitions and the refundable amount rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from payments_core.errors import CurrencyMismatch, InvalidRefundTransition
from payments_core.money import Money
from payments_core.refund import Refund, RefundKind, RefundStatus, refundable

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)


def _refund(
    amount: str = "1.00",
    *,
    attempt: str = "A1",
    status: RefundStatus = RefundStatus.PENDING,
    currency: str = "CNY",
) -> Refund:
    started = Refund.start(
        payment_id=1,
        attempt=attempt,
        reference="R1",
        amount=Money.parse(amount, currency),
        reason=None,
        kind=RefundKind.REQUESTED,
        at=NOW,
    )
    return evolve(started, status=status)


def test_a_new_refund_is_pending_unacknowledged_without_id() -> None:
    refund = _refund()

    assert (refund.id, refund.status, refund.acknowledged) == (None, RefundStatus.PENDING, False)
    assert refund.succeeded_at is None
    assert refund.failure is None


def test_succeeding_sets_the_time_and_acknowledges() -> None:
    later = NOW + timedelta(seconds=3)

    refund = _refund().succeed(at=later)

    assert refund.status is RefundStatus.SUCCEEDED
    assert (refund.succeeded_at, refund.updated_at, refund.acknowledged) == (later, later, True)


def test_failing_keeps_the_vendors_reason() -> None:
    refund = _refund().fail("REFUND_AMT_EXCEEDED", at=NOW)

    assert (refund.status, refund.failure) == (RefundStatus.FAILED, "REFUND_AMT_EXCEEDED")
    assert refund.succeeded_at is None


@pytest.mark.parametrize("final", [RefundStatus.SUCCEEDED, RefundStatus.FAILED])
def test_a_settled_refund_never_moves_again(final: RefundStatus) -> None:
    refund = _refund(status=final)

    with pytest.raises(InvalidRefundTransition):
        refund.succeed(at=NOW)
    with pytest.raises(InvalidRefundTransition):
        refund.fail("late", at=NOW)


def test_acknowledging_twice_is_the_same_refund() -> None:
    once = _refund().acknowledge(at=NOW)

    assert once.acknowledged
    assert once.acknowledge(at=NOW + timedelta(hours=1)) is once


def test_refundable_is_what_was_paid_minus_every_refund_that_is_not_failed() -> None:
    refunds = [
        _refund("3.00"),
        _refund("2.00", status=RefundStatus.SUCCEEDED),
        _refund("4.00", status=RefundStatus.FAILED),
        _refund("5.00", attempt="OTHER"),
    ]

    assert refundable(Money.parse("10.00"), refunds, "A1") == Money.parse("5.00")


def test_refundable_is_never_negative() -> None:
    assert refundable(Money.parse("1.00"), [_refund("3.00")], "A1") == Money(0)


def test_refundable_refuses_another_currency() -> None:
    with pytest.raises(CurrencyMismatch):
        refundable(Money.parse("10.00"), [_refund("1.00", currency="USD")], "A1")


@given(
    paid=st.integers(1, 10**9),
    parts=st.lists(
        st.tuples(st.integers(1, 10**8), st.sampled_from(RefundStatus), st.booleans()),
        max_size=8,
    ),
)
def test_refundable_counts_exactly_in_minor_units(
    paid: int, parts: list[tuple[int, RefundStatus, bool]]
) -> None:
    refunds = [
        evolve(_refund(), amount=Money(minor), status=status, attempt="A1" if mine else "A2")
        for minor, status, mine in parts
    ]
    taken = sum(m for m, s, mine in parts if mine and s is not RefundStatus.FAILED)

    assert refundable(Money(paid), refunds, "A1") == Money(max(paid - taken, 0))
