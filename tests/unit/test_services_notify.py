"""Vendor notifications: genuine, duplicate, forged, wrong, late and unknown ones."""

from __future__ import annotations

from datetime import timedelta

import pytest

from payments_core.errors import VendorNotFound
from payments_core.money import Money
from payments_core.payment import AttemptState, PaymentStatus
from payments_core.values import CheckoutRequest
from tests.unit.world import FORM, World


def test_a_genuine_notification_confirms_the_payment_and_replies_success(world: World) -> None:
    payment = world.create()
    body = world.pay(payment)
    world.clock.advance(timedelta(seconds=30))

    reply = world.notify(body)

    assert (reply.body, reply.status_code) == ("success", 200)
    stored = world.stored(payment)
    assert stored.status is PaymentStatus.CONFIRMED
    assert stored.valid is True
    assert stored.confirmed_at == world.clock.now()
    assert stored.vendor_trade_id is not None
    assert stored.attempts[0].state is AttemptState.PAID
    assert stored.order_string is None


def test_a_confirmation_is_announced_once(world: World) -> None:
    payment = world.create()

    world.notify(world.pay(payment))

    assert world.events_of(payment) == [
        (payment.id, None, PaymentStatus.PENDING),
        (payment.id, PaymentStatus.PENDING, PaymentStatus.CONFIRMED),
    ]


def test_a_duplicate_notification_replies_success_and_changes_nothing(world: World) -> None:
    payment = world.create()
    body = world.pay(payment)
    world.notify(body)
    confirmed = world.stored(payment)
    world.clock.advance(timedelta(minutes=1))

    reply = world.notify(body)

    assert reply.body == "success"
    assert world.stored(payment) == confirmed
    assert world.stored(payment).confirmed_at == confirmed.confirmed_at
    assert len(world.events_of(payment)) == 2


def test_a_forged_notification_is_refused_with_400_and_changes_nothing(world: World) -> None:
    payment = world.create()
    world.pay(payment)
    forged = world.vendor.notification(world.reference(payment), forged=True)

    reply = world.notify(forged)

    assert (reply.body, reply.status_code) == ("failure", 400)
    assert world.stored(payment) == payment


def test_an_unreadable_notification_is_refused_with_400(world: World) -> None:
    payment = world.create()

    reply = world.notify(b"\xff\xfe not a form")

    assert reply.status_code == 400
    assert world.stored(payment) == payment


def test_a_notification_of_the_wrong_amount_invalidates_the_payment(world: World) -> None:
    payment = world.create(total="88.88")

    reply = world.notify(world.pay(payment, amount="88.87"))

    assert reply.body == "success"
    stored = world.stored(payment)
    assert stored.status is PaymentStatus.INVALID
    assert stored.valid is False
    assert stored.confirmed_at is None
    assert stored.attempts[0].state is AttemptState.REJECTED
    assert world.events_of(payment)[-1] == (
        payment.id,
        PaymentStatus.PENDING,
        PaymentStatus.INVALID,
    )


def test_a_second_paid_attempt_of_a_confirmed_payment_is_flagged_duplicate(
    world: World,
) -> None:
    payment = world.create()
    first = world.reference(payment)
    second = world.open_second_attempt(payment)
    world.notify(world.vendor.pay(first))
    confirmed = world.stored(payment)

    reply = world.notify(world.vendor.pay(second))

    assert reply.body == "success"
    stored = world.stored(payment)
    assert stored.status is PaymentStatus.CONFIRMED
    assert stored.confirmed_at == confirmed.confirmed_at
    assert stored.vendor_trade_id == confirmed.vendor_trade_id
    assert world.state(payment, first) is AttemptState.PAID
    assert world.state(payment, second) is AttemptState.DUPLICATE
    assert len(world.events_of(payment)) == 2


def test_a_late_paid_notification_confirms_a_timed_out_payment(world: World) -> None:
    payment = world.create()
    reference = world.time_out_without_closing(payment)
    body = world.vendor.pay(reference)

    reply = world.notify(body)

    assert reply.body == "success"
    stored = world.stored(payment)
    assert stored.status is PaymentStatus.CONFIRMED
    assert world.state(payment, reference) is AttemptState.PAID
    assert world.events_of(payment)[-1] == (
        payment.id,
        PaymentStatus.TIMEOUT,
        PaymentStatus.CONFIRMED,
    )


def test_a_notification_for_an_unknown_reference_gets_the_failed_reply(world: World) -> None:
    now = world.clock.now()
    world.vendor.open_checkout(
        CheckoutRequest(
            reference="NOT_OURS",
            amount=Money.parse("1.00"),
            subject="x",
            description=None,
            expires_at=now + timedelta(minutes=5),
        )
    )

    reply = world.notify(world.vendor.pay("NOT_OURS"))

    assert (reply.body, reply.status_code) == ("failure", 200)
    assert world.hook.events == []


def test_a_notification_for_an_unknown_vendor_raises_vendor_not_found(world: World) -> None:
    payment = world.create()

    with pytest.raises(VendorNotFound, match="acme"):
        world.service.handle_notification("acme", world.pay(payment), FORM)

    assert world.stored(payment) == payment


def test_a_payment_confirmed_through_one_attempt_offers_no_order_string(world: World) -> None:
    payment = world.create()
    first = world.reference(payment)
    world.open_second_attempt(payment)

    world.notify(world.vendor.pay(first))

    stored = world.stored(payment)
    assert stored.status is PaymentStatus.CONFIRMED
    assert stored.order_string is None
