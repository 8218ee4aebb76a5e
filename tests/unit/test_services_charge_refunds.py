"""Money taken twice or taken wrongly goes back by itself, the moment it is recorded."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

import pytest

from payments_core.fakevendor import FakeMode
from payments_core.hookspecs import hookimpl
from payments_core.inmemory import InMemoryPaymentRepository
from payments_core.money import Money
from payments_core.payment import AttemptState, Payment, PaymentStatus
from payments_core.refund import Refund, RefundKind, RefundStatus
from payments_core.sweep import sweep
from payments_core.values import ChangeSource, NotificationOutcome
from tests.unit.world import ALICE, World, registered


class RefundRecorder:
    """A healthy ``payments_refund_changed`` plugin."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, RefundStatus | None, RefundStatus]] = []

    @hookimpl
    def payments_refund_changed(
        self, refund: Refund, previous: RefundStatus | None, current: RefundStatus
    ) -> None:
        self.seen.append((refund.reference, previous, current))


def _refunds(world: World, payment: Payment) -> list[Refund]:
    assert payment.id is not None
    return list(world.repo.refunds_for(payment.id))


def _paid_twice(world: World) -> tuple[Payment, str, bytes]:
    """A payment confirmed through one attempt, and the signed notice of a second paid one."""
    payment = world.create(total="12.30")
    second = world.open_second_attempt(payment)
    first = world.stored(payment).attempts[0].reference
    world.notify(world.vendor.pay(first))
    return world.stored(payment), second, world.vendor.pay(second)


def test_a_duplicate_charge_is_refunded_in_full_at_once_and_said_in_the_log(
    world_with_recorder: tuple[World, RefundRecorder], caplog: pytest.LogCaptureFixture
) -> None:
    world, recorder = world_with_recorder
    payment, second, body = _paid_twice(world)

    with caplog.at_level(logging.WARNING, logger="payments_core.refunding"):
        answer = world.notify(body)

    assert answer.outcome is NotificationOutcome.APPLIED
    assert world.state(payment, second) is AttemptState.DUPLICATE
    (refund,) = _refunds(world, payment)
    assert (refund.kind, refund.attempt, refund.amount) == (
        RefundKind.DUPLICATE,
        second,
        Money.parse("12.30"),
    )
    assert refund.status is RefundStatus.SUCCEEDED
    assert world.vendor.refunded(second) == Money.parse("12.30")
    assert world.vendor.refunded(payment.attempts[0].reference) == Money(0)
    assert world.stored(payment).status is PaymentStatus.CONFIRMED
    (line,) = [r.getMessage() for r in caplog.records]
    assert f"payment {payment.id}" in line
    assert second in line
    assert "12.30" in line
    assert recorder.seen == [
        (refund.reference, None, RefundStatus.PENDING),
        (refund.reference, RefundStatus.PENDING, RefundStatus.SUCCEEDED),
    ]


def test_the_same_duplicate_notice_again_refunds_nothing_more(world: World) -> None:
    payment, _, body = _paid_twice(world)

    world.notify(body)
    world.notify(body)

    assert len(_refunds(world, payment)) == 1
    assert len(world.vendor.payouts) == 1


@pytest.mark.parametrize("found_by", ["verify", "sweep"])
def test_a_wrong_charge_found_by_verify_or_the_sweep_is_refunded_too(
    world: World, found_by: str
) -> None:
    payment = world.create(total="12.30")
    world.pay(payment, amount="12.00")  # its notification is lost

    if found_by == "verify":
        assert not world.service.verify(ALICE, payment.id or 0)
    else:
        sweep(world.service)

    assert world.stored(payment).status is PaymentStatus.INVALID
    (refund,) = _refunds(world, payment)
    assert (refund.kind, refund.amount, refund.status) == (
        RefundKind.REJECTED,
        Money.parse("12.00"),
        RefundStatus.SUCCEEDED,
    )


def test_a_rejected_charge_returns_what_the_vendor_says_was_paid(world: World) -> None:
    payment = world.create(total="12.30")

    world.notify(world.pay(payment, amount="1.00"))

    assert world.stored(payment).status is PaymentStatus.INVALID
    (refund,) = _refunds(world, payment)
    assert (refund.kind, refund.amount, refund.status) == (
        RefundKind.REJECTED,
        Money.parse("1.00"),
        RefundStatus.SUCCEEDED,
    )
    assert world.vendor.refunded(refund.attempt) == Money.parse("1.00")


def test_a_charge_recorded_while_the_vendor_is_down_is_refunded_by_the_sweep(
    world: World,
) -> None:
    payment, second, body = _paid_twice(world)
    world.vendor.mode = FakeMode.DOWN

    world.notify(body)  # the notification needs no vendor call; the refund does
    (pending,) = _refunds(world, payment)
    failing = sweep(world.service)
    world.vendor.mode = FakeMode.NORMAL
    world.clock.advance(timedelta(minutes=2))
    healthy = sweep(world.service)

    assert (pending.status, pending.acknowledged) == (RefundStatus.PENDING, False)
    assert failing.refunds.errors == 1
    assert (healthy.refunds.sent, healthy.refunds.succeeded) == (1, 1)
    (refund,) = _refunds(world, payment)
    assert refund.status is RefundStatus.SUCCEEDED
    assert world.vendor.payouts == [(second, refund.reference, Money.parse("12.30"))]


class CountingRepository(InMemoryPaymentRepository):
    """Remembers how many refunds came with each save of a payment."""

    def __init__(self) -> None:
        super().__init__()
        self.saves: list[int] = []

    def save(
        self,
        payment: Payment,
        *,
        previous: Payment,
        refunds: Sequence[Refund] = (),
        source: ChangeSource | None = None,
    ) -> Payment:
        self.saves.append(len(refunds))
        return super().save(payment, previous=previous, refunds=refunds, source=source)


def test_the_charge_and_its_refund_are_stored_in_one_save() -> None:
    repo = CountingRepository()
    world = World(repo)
    payment, second, body = _paid_twice(world)
    repo.saves.clear()

    world.notify(body)

    assert repo.saves == [1]
    assert world.state(payment, second) is AttemptState.DUPLICATE


@pytest.fixture
def world_with_recorder(world: World) -> object:
    recorder = RefundRecorder()
    with registered(world, recorder, "refund-recorder"):
        yield world, recorder


@pytest.fixture
def world() -> World:
    return World()
