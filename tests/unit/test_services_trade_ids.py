"""One vendor trade id settles one attempt: never two payments, never twice one payment."""

from __future__ import annotations

from datetime import timedelta

import pytest

from payments_core.errors import VendorError
from payments_core.evidence import apply_report
from payments_core.money import Money
from payments_core.payment import AttemptState, Payment, PaymentStatus
from payments_core.sweep import sweep
from payments_core.testing import attempt_for, new_payment
from payments_core.values import TradeReport, TradeStatus
from tests.unit.world import ALICE, World


def confirmed(world: World) -> tuple[Payment, str]:
    """A payment confirmed through its first attempt, and the vendor's trade id of it."""
    payment = world.create()
    world.notify(world.pay(payment))
    trade_id = world.stored(payment).vendor_trade_id
    assert trade_id is not None
    return world.stored(payment), trade_id


def test_a_notification_with_the_trade_id_of_another_payment_confirms_nothing(
    world: World,
) -> None:
    _, trade_id = confirmed(world)
    victim = world.create()
    body = world.vendor.pay(world.reference(victim), trade_id=trade_id)

    reply = world.notify(body)

    assert reply.body != "success"
    assert world.stored(victim) == victim
    assert world.events_of(victim) == [(victim.id, None, PaymentStatus.PENDING)]


def test_verify_refuses_a_trade_id_that_paid_another_payment(world: World) -> None:
    _, trade_id = confirmed(world)
    victim = world.create()
    world.vendor.pay(world.reference(victim), trade_id=trade_id)

    with pytest.raises(VendorError) as raised:
        world.service.verify(ALICE, victim.id or 0)

    assert raised.value.vendor_code == "trade_id_reused"
    assert world.stored(victim) == victim


def test_the_sweep_counts_a_trade_id_that_paid_another_payment_as_a_failure(
    world: World,
) -> None:
    _, trade_id = confirmed(world)
    victim = world.create()
    world.vendor.pay(world.reference(victim), trade_id=trade_id)

    report = sweep(world.service)

    assert (report.checked, report.failed, report.changed) == (1, 1, {})
    assert world.stored(victim) == victim


def test_a_trade_id_that_paid_another_payment_is_no_duplicate_charge_either(
    world: World,
) -> None:
    _, trade_id = confirmed(world)
    settled, _ = confirmed(world)
    late = world.open_second_attempt(settled)
    body = world.vendor.pay(late, trade_id=trade_id)

    reply = world.notify(body)

    assert reply.body != "success"
    assert world.state(settled, late) is AttemptState.OPEN


def test_a_second_attempt_reported_with_the_first_attempts_trade_id_is_no_second_charge(
    world: World,
) -> None:
    payment = world.create()
    second = world.open_second_attempt(payment)
    world.notify(world.vendor.pay(payment.attempts[0].reference))
    trade_id = world.stored(payment).vendor_trade_id
    paid = world.stored(payment)

    reply = world.notify(world.vendor.pay(second, trade_id=trade_id))

    assert reply.body != "success"
    assert world.stored(payment) == paid
    assert world.state(payment, second) is AttemptState.OPEN


def test_the_evidence_rule_refuses_a_trade_id_recorded_on_another_attempt(world: World) -> None:
    now = world.clock.now()
    first = new_payment(world.clock)
    extra = attempt_for(world.clock)
    paid = first.confirm(first.attempts[0].reference, trade_id="T1", at=now)
    payment = paid.with_attempt(extra, at=now)
    report = TradeReport(
        vendor=payment.vendor,
        reference=extra.reference,
        status=TradeStatus.PAID,
        trade_id="T1",
        amount=Money.parse("1000.12"),
    )

    with pytest.raises(VendorError) as raised:
        apply_report(payment, report, at=now + timedelta(seconds=1))

    assert raised.value.vendor_code == "trade_id_reused"
