"""The Payment's status transitions against their table, written out again by hand."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from attrs import evolve

from payments_core.errors import InvalidTransition
from payments_core.money import Money
from payments_core.payment import TERMINAL, Attempt, AttemptState, Payment, PaymentStatus

PENDING = PaymentStatus.PENDING
CONFIRMED = PaymentStatus.CONFIRMED
TIMEOUT = PaymentStatus.TIMEOUT
INVALID = PaymentStatus.INVALID

# The transition table of docs/api.md, row by row; every pair not listed is forbidden.
CONTRACT_TABLE = frozenset(
    {
        (PENDING, CONFIRMED),  # verified evidence that an attempt was paid in full
        (PENDING, TIMEOUT),  # window passed, vendor says unpaid, trade closed
        (TIMEOUT, PENDING),  # retry after a timeout
        (PENDING, PENDING),  # retry inside the window
        (TIMEOUT, CONFIRMED),  # a late but genuine paid notice
        (PENDING, INVALID),  # a paid trade failing the business checks
        (TIMEOUT, INVALID),
    }
)
ALL_PAIRS = list(itertools.product(PaymentStatus, repeat=2))
T0 = datetime(2024, 5, 20, 5, 14, 15, tzinfo=UTC)
LATER = T0 + timedelta(minutes=3)
LATEST = T0 + timedelta(minutes=9)


def _attempt(reference: str) -> Attempt:
    return Attempt(
        reference=reference,
        order_string=f"https://vendor.invalid/pay?{reference}",
        opened_at=T0,
        expires_at=T0 + timedelta(minutes=15),
    )


def _payment(status: PaymentStatus = PENDING) -> Payment:
    """A stored-looking payment in ``status`` with the open attempts R1 and R2."""
    started = Payment.start(
        order_id="order-1",
        payer="alice",
        subject="Tea",
        description=None,
        amount=Money.parse("88.88"),
        vendor="fake",
        attempt=_attempt("R1"),
    )
    return evolve(started.with_attempt(_attempt("R2"), at=T0), id=7, version=1, status=status)


def _state(payment: Payment, reference: str) -> AttemptState:
    attempt = payment.attempt(reference)
    assert attempt is not None
    return attempt.state


def test_the_table_names_four_statuses_and_sixteen_pairs() -> None:
    assert {status for pair in CONTRACT_TABLE for status in pair} == set(PaymentStatus)
    assert len(ALL_PAIRS) == 16
    assert frozenset({CONFIRMED, INVALID}) == TERMINAL


@pytest.mark.parametrize(
    ("current", "target"), ALL_PAIRS, ids=[f"{a.value}-{b.value}" for a, b in ALL_PAIRS]
)
def test_a_transition_succeeds_exactly_when_the_contract_lists_it(
    current: PaymentStatus, target: PaymentStatus
) -> None:
    payment = _payment(current)

    if (current, target) in CONTRACT_TABLE:
        moved = payment.transition(target, at=LATER)

        assert moved.status is target
        assert moved.updated_at == LATER
        assert payment.status is current
    else:
        with pytest.raises(InvalidTransition, match=f"{current.value} to {target.value}") as err:
            payment.transition(target, at=LATER)

        assert err.value.current is current
        assert err.value.target is target
        assert err.value.payment_id == 7


def test_a_new_payment_is_pending_with_its_attempt_open() -> None:
    payment = Payment.start(
        order_id="order-1",
        payer="alice",
        subject="Tea",
        description="green",
        amount=Money.parse("1.00"),
        vendor="fake",
        attempt=_attempt("R1"),
    )

    assert payment.status is PENDING
    assert payment.id is None
    assert payment.created_at == payment.updated_at == T0
    assert payment.order_string == "https://vendor.invalid/pay?R1"
    assert payment.confirmed_at is None
    assert payment.valid is False


def test_confirm_marks_the_attempt_paid_and_sets_confirmed_at() -> None:
    payment = _payment(PENDING)

    confirmed = payment.confirm("R1", trade_id="T1", at=LATER)

    assert confirmed.status is CONFIRMED
    assert confirmed.confirmed_at == LATER
    assert confirmed.updated_at == LATER
    assert confirmed.vendor_trade_id == "T1"
    assert confirmed.valid is True
    assert _state(confirmed, "R1") is AttemptState.PAID
    assert confirmed.attempt("R1") == evolve(
        _attempt("R1"), state=AttemptState.PAID, vendor_trade_id="T1"
    )
    assert _state(confirmed, "R2") is AttemptState.OPEN


def test_confirm_of_a_timed_out_payment_is_allowed() -> None:
    payment = _payment(TIMEOUT)

    confirmed = payment.confirm("R2", trade_id="T2", at=LATER)

    assert confirmed.status is CONFIRMED
    assert confirmed.confirmed_at == LATER


@pytest.mark.parametrize("terminal", [CONFIRMED, INVALID], ids=lambda s: s.value)
def test_confirm_of_a_terminal_payment_raises_and_keeps_confirmed_at(
    terminal: PaymentStatus,
) -> None:
    payment = evolve(_payment(terminal), confirmed_at=LATER)

    with pytest.raises(InvalidTransition, match=f"{terminal.value} to CONFIRMED"):
        payment.confirm("R2", trade_id="T2", at=LATEST)

    assert payment.confirmed_at == LATER


def test_confirmed_at_is_set_once_even_when_a_duplicate_is_flagged_later() -> None:
    confirmed = _payment(PENDING).confirm("R1", trade_id="T1", at=LATER)

    flagged = confirmed.flag_refund("R2", trade_id="T2", at=LATEST)

    assert flagged.confirmed_at == LATER
    assert flagged.status is CONFIRMED
    assert flagged.vendor_trade_id == "T1"


def test_reject_makes_the_payment_invalid_and_the_attempt_rejected() -> None:
    payment = _payment(PENDING)

    rejected = payment.reject("R1", trade_id="T1", at=LATER)

    assert rejected.status is INVALID
    assert rejected.valid is False
    assert rejected.confirmed_at is None
    assert rejected.vendor_trade_id == "T1"
    assert _state(rejected, "R1") is AttemptState.REJECTED


def test_reject_of_a_confirmed_payment_raises() -> None:
    confirmed = _payment(PENDING).confirm("R1", trade_id="T1", at=LATER)

    with pytest.raises(InvalidTransition, match="CONFIRMED to INVALID"):
        confirmed.reject("R2", trade_id="T2", at=LATEST)


def test_flag_refund_marks_the_attempt_duplicate_and_keeps_the_status() -> None:
    confirmed = _payment(PENDING).confirm("R1", trade_id="T1", at=LATER)

    flagged = confirmed.flag_refund("R2", trade_id="T2", at=LATEST)

    assert flagged.attempt("R2") == evolve(
        _attempt("R2"), state=AttemptState.DUPLICATE, vendor_trade_id="T2"
    )
    assert _state(flagged, "R1") is AttemptState.PAID
    assert flagged.updated_at == LATEST


def test_close_attempt_closes_it_and_keeps_the_status() -> None:
    payment = _payment(PENDING)

    closed = payment.close_attempt("R2", at=LATER)

    assert closed.status is PENDING
    assert _state(closed, "R2") is AttemptState.CLOSED
    assert closed.order_string == "https://vendor.invalid/pay?R1"
    assert closed.updated_at == LATER


def test_a_payment_with_every_attempt_closed_has_no_order_string() -> None:
    payment = _payment(PENDING)

    closed = payment.close_attempt("R1", at=LATER).close_attempt("R2", at=LATER)

    assert closed.open_attempt() is None
    assert closed.order_string is None


def test_the_newest_open_attempt_is_the_one_to_pay() -> None:
    payment = _payment(PENDING)

    assert payment.open_attempt() == _attempt("R2")
    assert payment.order_string == "https://vendor.invalid/pay?R2"


def test_settling_an_unknown_attempt_raises_key_error() -> None:
    payment = _payment(PENDING)

    with pytest.raises(KeyError, match="NOPE"):
        payment.close_attempt("NOPE", at=LATER)


def test_with_attempt_replaces_the_attempt_of_the_same_reference() -> None:
    payment = _payment(PENDING)
    replacement = evolve(_attempt("R1"), order_string="https://vendor.invalid/other")

    changed = payment.with_attempt(replacement, at=LATER)

    assert [a.reference for a in changed.attempts] == ["R1", "R2"]
    assert changed.attempts[0] == replacement


@pytest.mark.parametrize("terminal", [CONFIRMED, INVALID], ids=lambda s: s.value)
def test_a_terminal_payment_has_no_order_string_even_with_an_open_attempt(
    terminal: PaymentStatus,
) -> None:
    payment = _payment(terminal)

    assert payment.open_attempt() is not None
    assert payment.order_string is None
