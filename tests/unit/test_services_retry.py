"""Retrying a payment: a new attempt with a new order string and a new window."""

from __future__ import annotations

from datetime import timedelta

import pytest

from payments_core.errors import PaymentFinal, PaymentNotFound, VendorUnavailable
from payments_core.fakevendor import FakeMode
from payments_core.payment import AttemptState, PaymentStatus
from payments_core.values import TradeStatus
from tests.unit.world import ADMIN, ALICE, BOB, TTL, World


def test_retry_of_a_pending_payment_closes_the_old_attempt_and_issues_a_new_one(
    world: World,
) -> None:
    payment = world.create()
    old = payment.attempts[0]
    world.clock.advance(timedelta(minutes=5))

    retried = world.service.retry(ALICE, payment.id or 0)

    assert retried.status is PaymentStatus.PENDING
    assert [a.state for a in retried.attempts] == [AttemptState.CLOSED, AttemptState.OPEN]
    assert world.vendor.query(old.reference).status is TradeStatus.CLOSED
    new = retried.attempts[1]
    assert new.reference != old.reference
    assert retried.order_string == new.order_string != old.order_string
    assert new.expires_at == world.clock.now() + TTL
    assert world.stored(payment) == retried


def test_retry_inside_the_window_announces_no_status_change(world: World) -> None:
    payment = world.create()

    world.service.retry(ALICE, payment.id or 0)

    assert world.events_of(payment) == [(payment.id, None, PaymentStatus.PENDING)]


def test_the_old_attempt_cannot_be_paid_after_a_retry(world: World) -> None:
    payment = world.create()
    old = payment.attempts[0].reference

    world.service.retry(ALICE, payment.id or 0)

    assert world.vendor.query(old).status is TradeStatus.CLOSED
    assert not world.vendor.is_paid(old)


def test_the_new_attempt_of_a_retry_confirms_the_payment(world: World) -> None:
    payment = world.create()
    world.service.retry(ALICE, payment.id or 0)

    reply = world.notify(world.pay(payment))

    assert reply.body == "success"
    assert world.stored(payment).status is PaymentStatus.CONFIRMED


def test_retry_of_a_timed_out_payment_makes_it_pending_again(world: World) -> None:
    payment = world.create()
    world.clock.advance(TTL)
    world.service.sweep_attempt(payment.id or 0, payment.attempts[0].reference)

    retried = world.service.retry(ALICE, payment.id or 0)

    assert retried.status is PaymentStatus.PENDING
    assert retried.open_attempt() is not None
    assert retried.order_string is not None
    assert world.events_of(payment)[-2:] == [
        (payment.id, PaymentStatus.PENDING, PaymentStatus.TIMEOUT),
        (payment.id, PaymentStatus.TIMEOUT, PaymentStatus.PENDING),
    ]


def test_retry_of_a_confirmed_payment_is_rejected(world: World) -> None:
    payment = world.create()
    world.notify(world.pay(payment))

    with pytest.raises(PaymentFinal, match="CONFIRMED"):
        world.service.retry(ALICE, payment.id or 0)


def test_retry_of_an_invalid_payment_is_rejected(world: World) -> None:
    payment = world.create()
    world.notify(world.pay(payment, amount="0.01"))

    with pytest.raises(PaymentFinal, match="INVALID") as err:
        world.service.retry(ALICE, payment.id or 0)

    assert err.value.status is PaymentStatus.INVALID


def test_a_payment_found_paid_during_retry_is_confirmed_and_returned(world: World) -> None:
    payment = world.create()
    world.pay(payment)  # the notification has not arrived yet

    retried = world.service.retry(ALICE, payment.id or 0)

    assert retried.status is PaymentStatus.CONFIRMED
    assert len(retried.attempts) == 1
    assert retried.attempts[0].state is AttemptState.PAID
    assert world.stored(payment) == retried


def test_retry_while_the_vendor_is_down_raises_and_changes_nothing(world: World) -> None:
    payment = world.create()
    world.vendor.mode = FakeMode.DOWN

    with pytest.raises(VendorUnavailable):
        world.service.retry(ALICE, payment.id or 0)

    assert world.stored(payment) == payment
    world.vendor.mode = FakeMode.NORMAL
    assert world.vendor.query(payment.attempts[0].reference).status is TradeStatus.UNPAID


def test_only_the_payer_may_retry(world: World) -> None:
    payment = world.create()

    with pytest.raises(PaymentNotFound):
        world.service.retry(BOB, payment.id or 0)
    with pytest.raises(PaymentNotFound):
        world.service.retry(ADMIN, payment.id or 0)

    assert world.stored(payment) == payment
