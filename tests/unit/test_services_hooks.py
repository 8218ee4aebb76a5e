"""Status changes reach the ``payments_status_changed`` hooks after they are stored, at least once."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

import pytest
from attrs import evolve

from payments_core.hookspecs import hookimpl
from payments_core.outbox import BATCH, OutboxRelay
from payments_core.payment import Payment, PaymentStatus
from payments_core.sweep import sweep
from payments_core.values import Change, Delivery, Subscriber
from tests.unit.world import ALICE, RecordingHook, World, registered


class FlakyHook:
    """A status hook that fails its first ``failures`` calls, then records like a healthy one."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.events: list[tuple[int | None, PaymentStatus | None, PaymentStatus]] = []

    @hookimpl
    def payments_status_changed(
        self, payment: Payment, previous: PaymentStatus | None, current: PaymentStatus
    ) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError("the embedding app's database is down")
        self.events.append((payment.id, previous, current))


class CurrentOnlyHook:
    """A hook implementation that takes only the argument it needs."""

    def __init__(self) -> None:
        self.seen: list[PaymentStatus] = []

    @hookimpl
    def payments_status_changed(self, current: PaymentStatus) -> None:
        self.seen.append(current)


def test_each_change_is_announced_once_to_a_healthy_hook(world: World) -> None:
    payment = world.create()
    world.notify(world.pay(payment))

    world.relay.deliver()

    assert world.hook.events == [
        (payment.id, None, PaymentStatus.PENDING),
        (payment.id, PaymentStatus.PENDING, PaymentStatus.CONFIRMED),
    ]
    assert world.repo.pending_changes(limit=10) == []


def test_a_hook_sees_the_payment_as_stored(world: World) -> None:
    seen: list[Payment] = []

    class Snapshot:
        @hookimpl
        def payments_status_changed(self, payment: Payment) -> None:
            seen.append(payment)

    with registered(world, Snapshot(), "snapshot"):
        payment = world.create()

    assert seen == [world.stored(payment)]


def test_a_hook_may_take_a_subset_of_the_arguments(world: World) -> None:
    hook = CurrentOnlyHook()

    with registered(world, hook, "current-only"):
        payment = world.create()
        world.notify(world.pay(payment))

    assert hook.seen == [PaymentStatus.PENDING, PaymentStatus.CONFIRMED]


def test_a_failing_hook_is_logged_and_retried_on_the_next_delivery(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    flaky = FlakyHook(failures=1)

    with registered(world, flaky, "flaky"):
        payment = world.create()
        failed_events = list(flaky.events)
        world.relay.deliver()

    assert failed_events == []
    assert flaky.events == [(payment.id, None, PaymentStatus.PENDING)]
    assert world.hook.events == [(payment.id, None, PaymentStatus.PENDING)]
    assert "status hook flaky failed" in caplog.text
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)
    assert world.repo.pending_changes(limit=10) == []


def test_a_failed_change_is_redelivered_with_the_next_status_change(world: World) -> None:
    flaky = FlakyHook(failures=1)

    with registered(world, flaky, "flaky"):
        first = world.create()
        second = world.create()

    assert flaky.events == [
        (first.id, None, PaymentStatus.PENDING),
        (second.id, None, PaymentStatus.PENDING),
    ]
    assert world.hook.events == flaky.events


def test_a_change_stays_pending_while_a_hook_keeps_failing(world: World) -> None:
    flaky = FlakyHook(failures=3)

    with registered(world, flaky, "flaky"):
        payment = world.create()
        world.relay.deliver()
        world.relay.deliver()
        pending = world.repo.pending_changes(limit=10)
        world.relay.deliver()

    assert [(c.payment_id, c.current) for c in pending] == [(payment.id, PaymentStatus.PENDING)]
    assert pending[0].delivered_to == frozenset({"recorder"})
    assert flaky.calls == 4
    assert world.hook.events == [(payment.id, None, PaymentStatus.PENDING)]
    assert world.repo.pending_changes(limit=10) == []


def test_without_hooks_nothing_is_announced_and_the_changes_wait(world: World) -> None:
    quiet = evolve(world.service, announce=None)
    order_id = world.order()

    payment = quiet.create(ALICE, order_id=order_id, subject="Tea")
    swept = sweep(quiet)  # a sweep delivers what is pending through the service's announce

    assert world.hook.events == []
    assert swept.checked == 1
    assert [c.payment_id for c in world.repo.pending_changes(limit=10)] == [payment.id]


def test_two_healthy_hooks_each_hear_every_change_once(world: World) -> None:
    other = RecordingHook()

    with registered(world, other, "other"):
        payment = world.create()
        world.notify(world.pay(payment))
        world.relay.deliver()

    assert other.events == world.hook.events
    assert len(other.events) == 2


class TricklingOutbox:
    """The world's outbox, with another writer storing one change before every claim."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.writer = evolve(world.service, announce=None)  # stores changes, delivers none
        self.claims = 0

    def pending_changes(self, *, limit: int) -> Sequence[Change]:
        return self.world.repo.pending_changes(limit=limit)

    def claim_changes(
        self, now: datetime, *, limit: int, lease: timedelta, hooks: Collection[str] = ()
    ) -> Sequence[Change]:
        self.claims += 1
        if self.claims <= 20:  # bounded, so that a delivery that chases them all still ends
            self.writer.create(ALICE, order_id=self.world.order(), subject="Tea")
        return self.world.repo.claim_changes(now, limit=limit, lease=lease, hooks=hooks)

    def mark_delivered(self, deliveries: Sequence[Delivery]) -> None:
        self.world.repo.mark_delivered(deliveries)

    def register_subscribers(self, names: Collection[str], now: datetime) -> None:
        self.world.repo.register_subscribers(names, now)

    def retire_subscriber(self, name: str, now: datetime) -> int:
        return self.world.repo.retire_subscriber(name, now)

    def subscribers(self) -> Sequence[Subscriber]:
        return self.world.repo.subscribers()


def test_a_delivery_ends_after_a_short_batch_while_changes_keep_coming(world: World) -> None:
    outbox = TricklingOutbox(world)
    relay = OutboxRelay(outbox, world.repo, world.hooks, world.clock)

    delivered = relay.deliver()

    # one claim, not one per change stored meanwhile: under load that was two tiny
    # transactions per change instead of a batch every few hundred milliseconds
    assert (outbox.claims, delivered) == (1, 1)
    assert len(world.repo.pending_changes(limit=10)) == 0


def test_a_backlog_longer_than_a_batch_is_delivered_in_one_call(world: World) -> None:
    quiet = evolve(world.service, announce=None)  # stores changes without delivering them
    payments = [
        quiet.create(ALICE, order_id=world.order(), subject="Tea") for _ in range(BATCH + 1)
    ]

    delivered = world.relay.deliver()

    assert delivered == len(payments)
    assert [e[0] for e in world.hook.events] == [p.id for p in payments]
    assert world.repo.pending_changes(limit=10) == []
