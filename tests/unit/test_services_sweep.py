"""The sweep: confirm the paid, time out the expired and unpaid, nothing twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from attrs import evolve

from payments_core.fakevendor import FakeMode, FakeVendor
from payments_core.payment import AttemptState, PaymentStatus
from payments_core.sweep import SweepReport, sweep
from payments_core.values import (
    Checkout,
    CheckoutRequest,
    DueAttempt,
    NotificationOutcome,
    RefundReport,
    Reply,
    TradeReport,
    TradeStatus,
)
from tests.unit.world import TTL, World


class CountingVendor:
    """The fake vendor, with a short pause in ``query`` and a count of queries in flight."""

    def __init__(self, vendor: FakeVendor) -> None:
        self._vendor = vendor
        self._lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0

    @property
    def name(self) -> str:
        return self._vendor.name

    def open_checkout(self, request: CheckoutRequest) -> Checkout:
        return self._vendor.open_checkout(request)

    def close_attempt(self, reference: str) -> None:
        self._vendor.close_attempt(reference)

    def parse_notification(
        self, body: bytes, headers: Mapping[str, str]
    ) -> TradeReport | RefundReport | None:
        return self._vendor.parse_notification(body, headers)

    def reply(self, outcome: NotificationOutcome) -> Reply:
        return self._vendor.reply(outcome)

    def query(self, reference: str) -> TradeReport:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(0.005)
            return self._vendor.query(reference)
        finally:
            with self._lock:
                self.in_flight -= 1


def test_the_sweep_confirms_a_paid_attempt_whose_notification_was_lost(world: World) -> None:
    payment = world.create()
    world.pay(payment)

    report = sweep(world.service)

    assert report == SweepReport(checked=1, changed={"CONFIRMED": 1}, failed=0)
    assert world.stored(payment).status is PaymentStatus.CONFIRMED


def test_the_sweep_times_out_an_expired_unpaid_attempt_after_closing_it(world: World) -> None:
    payment = world.create()
    reference = world.reference(payment)
    world.clock.advance(TTL)

    report = sweep(world.service)

    assert report.changed == {"TIMEOUT": 1}
    assert world.vendor.query(reference).status is TradeStatus.CLOSED
    stored = world.stored(payment)
    assert stored.status is PaymentStatus.TIMEOUT
    assert world.state(payment, reference) is AttemptState.CLOSED
    assert stored.order_string is None


def test_the_sweep_confirms_an_expired_attempt_that_was_paid(world: World) -> None:
    payment = world.create()
    world.pay(payment)
    world.clock.advance(TTL * 2)

    report = sweep(world.service)

    assert report.changed == {"CONFIRMED": 1}
    assert world.stored(payment).status is PaymentStatus.CONFIRMED


def test_the_sweep_leaves_an_unexpired_unpaid_attempt_alone(world: World) -> None:
    payment = world.create()
    world.clock.advance(TTL - timedelta(seconds=1))

    report = sweep(world.service)

    assert report == SweepReport(checked=1, changed={}, failed=0)
    assert world.stored(payment) == payment
    assert world.vendor.query(world.reference(payment)).status is TradeStatus.UNPAID


def test_the_sweep_counts_failures_when_the_vendor_is_down_and_leaves_attempts_open(
    world: World,
) -> None:
    payments = [world.create() for _ in range(3)]
    world.clock.advance(TTL)
    world.vendor.mode = FakeMode.DOWN

    report = sweep(world.service)

    assert report == SweepReport(checked=3, changed={}, failed=3)
    assert [world.stored(p) for p in payments] == payments


def test_the_sweep_counts_garbage_answers_as_failures(world: World) -> None:
    payment = world.create()
    world.pay(payment)
    world.vendor.mode = FakeMode.GARBAGE

    report = sweep(world.service)

    assert report.failed == 1
    assert world.stored(payment) == payment


def test_the_sweep_skips_payments_that_are_not_pending(world: World) -> None:
    confirmed = world.create()
    world.notify(world.pay(confirmed))
    world.time_out_without_closing(world.create())
    queries = world.vendor.queries

    report = sweep(world.service)

    assert report.checked == 0
    assert world.vendor.queries == queries


def test_the_sweep_claims_in_batches_and_reports_progress(world: World) -> None:
    for _ in range(5):
        world.create()
    handled: list[int] = []

    report = sweep(world.service, batch_size=2, progress=handled.append)

    assert handled == [2, 2, 1]
    assert report.checked == 5


def test_the_sweep_keeps_vendor_queries_within_the_concurrency(world: World) -> None:
    for _ in range(8):
        world.create()
    vendor = CountingVendor(world.vendor)
    service = evolve(world.service, vendors={"fake": vendor})

    report = sweep(service, batch_size=8, concurrency=3)

    assert report.checked == 8
    assert 1 <= vendor.most_in_flight <= 3


def test_a_sweep_with_concurrency_one_queries_one_at_a_time(world: World) -> None:
    for _ in range(4):
        world.create()
    vendor = CountingVendor(world.vendor)
    service = evolve(world.service, vendors={"fake": vendor})

    sweep(service, concurrency=1)

    assert vendor.most_in_flight == 1


@pytest.mark.parametrize(("batch_size", "concurrency"), [(0, 1), (1, 0)])
def test_the_sweep_refuses_sizes_below_one(world: World, batch_size: int, concurrency: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        sweep(world.service, batch_size=batch_size, concurrency=concurrency)


def test_the_sweep_announces_each_change_once(world: World) -> None:
    payment = world.create()
    world.pay(payment)

    sweep(world.service)

    assert world.events_of(payment) == [
        (payment.id, None, PaymentStatus.PENDING),
        (payment.id, PaymentStatus.PENDING, PaymentStatus.CONFIRMED),
    ]


def test_two_concurrent_sweeps_never_apply_a_transition_twice(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim = world.repo.claim_due

    def claim_without_lease(now: datetime, *, limit: int, lease: timedelta) -> Sequence[DueAttempt]:
        del lease  # both sweeps claim every attempt, so only compare-and-set keeps them apart
        return claim(now, limit=limit, lease=timedelta(0))

    monkeypatch.setattr(world.repo, "claim_due", claim_without_lease)
    paid = [world.create() for _ in range(6)]
    unpaid = [world.create() for _ in range(6)]
    for payment in paid:
        world.pay(payment)
    world.clock.advance(TTL)
    vendor = CountingVendor(world.vendor)  # its pause makes the two sweeps overlap
    service = evolve(world.service, vendors={"fake": vendor})
    start = threading.Barrier(2)

    def one_sweep() -> SweepReport:
        start.wait(timeout=5)
        return sweep(service, batch_size=3, concurrency=2)

    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = [f.result(timeout=10) for f in [pool.submit(one_sweep), pool.submit(one_sweep)]]

    assert {world.stored(p).status for p in paid} == {PaymentStatus.CONFIRMED}
    assert {world.stored(p).status for p in unpaid} == {PaymentStatus.TIMEOUT}
    for payment in paid + unpaid:
        assert len(world.events_of(payment)) == 2
        assert world.stored(payment).version == 2
    assert world.vendor.queries > 12
    assert sum(r.changed.get("CONFIRMED", 0) for r in reports) == 6
    assert sum(r.changed.get("TIMEOUT", 0) for r in reports) == 6


def test_the_sweep_report_reads_as_a_sentence() -> None:
    report = SweepReport(checked=4, changed={"TIMEOUT": 1, "CONFIRMED": 2}, failed=1)

    assert str(report) == "checked 4 attempts: 2 CONFIRMED, 1 TIMEOUT, 1 failed"
    assert str(SweepReport(0, {}, 0)) == "checked 0 attempts: no changes, 0 failed"
