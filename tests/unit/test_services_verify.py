"""Verify: ask the vendor now and apply what it says; an outage is an error, never False."""

from __future__ import annotations

import pytest

from payments_core.errors import PaymentNotFound, VendorError, VendorUnavailable
from payments_core.fakevendor import FakeMode
from payments_core.payment import AttemptState, PaymentStatus
from tests.unit.world import ADMIN, ALICE, BOB, World


def test_verify_of_a_paid_payment_confirms_it_and_is_true(world: World) -> None:
    payment = world.create()
    world.pay(payment)

    verified = world.service.verify(ALICE, payment.id or 0)

    assert verified is True
    stored = world.stored(payment)
    assert stored.status is PaymentStatus.CONFIRMED
    assert stored.valid is True
    assert stored.confirmed_at == world.clock.now()
    assert world.events_of(payment)[-1] == (
        payment.id,
        PaymentStatus.PENDING,
        PaymentStatus.CONFIRMED,
    )


def test_verify_of_an_unpaid_payment_is_false_and_changes_nothing(world: World) -> None:
    payment = world.create()

    verified = world.service.verify(ALICE, payment.id or 0)

    assert verified is False
    assert world.stored(payment) == payment


def test_verify_of_a_confirmed_payment_is_true_without_asking_the_vendor(world: World) -> None:
    payment = world.create()
    world.notify(world.pay(payment))
    queries = world.vendor.queries

    verified = world.service.verify(ALICE, payment.id or 0)

    assert verified is True
    assert world.vendor.queries == queries


def test_verify_of_a_wrong_amount_is_false_and_invalidates(world: World) -> None:
    payment = world.create(total="88.88")
    world.pay(payment, amount="8.88")

    verified = world.service.verify(ALICE, payment.id or 0)

    assert verified is False
    stored = world.stored(payment)
    assert stored.status is PaymentStatus.INVALID
    assert stored.attempts[0].state is AttemptState.REJECTED


def test_verify_while_the_vendor_is_down_raises_vendor_unavailable(world: World) -> None:
    payment = world.create()
    world.pay(payment)
    world.vendor.mode = FakeMode.DOWN

    with pytest.raises(VendorUnavailable):
        world.service.verify(ALICE, payment.id or 0)

    assert world.stored(payment) == payment


def test_verify_when_the_vendor_answers_garbage_raises_vendor_error(world: World) -> None:
    payment = world.create()
    world.pay(payment)
    world.vendor.mode = FakeMode.GARBAGE

    with pytest.raises(VendorError) as err:
        world.service.verify(ALICE, payment.id or 0)

    assert not isinstance(err.value, VendorUnavailable)
    assert world.stored(payment) == payment


def test_an_admin_may_verify_anothers_payment(world: World) -> None:
    payment = world.create()
    world.pay(payment)

    verified = world.service.verify(ADMIN, payment.id or 0)

    assert verified is True
    assert world.stored(payment).status is PaymentStatus.CONFIRMED


def test_another_user_may_not_verify(world: World) -> None:
    payment = world.create()
    world.pay(payment)

    with pytest.raises(PaymentNotFound):
        world.service.verify(BOB, payment.id or 0)

    assert world.stored(payment) == payment


def test_verify_finds_a_late_payment_of_a_timed_out_payment(world: World) -> None:
    payment = world.create()
    world.time_out_without_closing(payment)
    world.vendor.pay(payment.attempts[0].reference)

    verified = world.service.verify(ALICE, payment.id or 0)

    assert verified is True
    assert world.stored(payment).status is PaymentStatus.CONFIRMED
