"""A notification and a verify call racing for one payment apply its transition once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from payments_core.errors import ConcurrencyConflict
from payments_core.inmemory import InMemoryPaymentRepository
from payments_core.payment import Payment, PaymentStatus
from tests.unit.world import ALICE, World


class RacingRepository(InMemoryPaymentRepository):
    """Holds the first save after ``arm`` until ``release``, so a rival can save first.

    The held save then meets a genuine compare-and-set conflict.
    """

    def __init__(self) -> None:
        super().__init__()
        self._armed = False
        self._arming = threading.Lock()
        self.holding = threading.Event()
        self.release = threading.Event()
        self.conflicts = 0

    def arm(self) -> None:
        with self._arming:
            self._armed = True

    def save(self, payment: Payment, *, previous: Payment) -> Payment:
        with self._arming:
            hold, self._armed = self._armed, False
        if hold:
            self.holding.set()
            assert self.release.wait(timeout=5)
        try:
            return super().save(payment, previous=previous)
        except ConcurrencyConflict:
            self.conflicts += 1
            raise


def _notification(world: World, body: bytes) -> Callable[[], object]:
    return lambda: world.notify(body).body


def _verify(world: World, payment: Payment) -> Callable[[], object]:
    return lambda: world.service.verify(ALICE, payment.id or 0)


@pytest.mark.parametrize("held", ["notification", "verify"])
def test_a_racing_notification_and_verify_confirm_the_payment_once(held: str) -> None:
    repo = RacingRepository()
    world = World(repo=repo)
    payment = world.create()
    body = world.pay(payment)
    calls = {"notification": _notification(world, body), "verify": _verify(world, payment)}
    rival = "verify" if held == "notification" else "notification"
    repo.arm()

    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = pool.submit(calls[held])
        assert repo.holding.wait(timeout=5)
        fast = pool.submit(calls[rival])
        fast_result = fast.result(timeout=5)
        repo.release.set()
        slow_result = slow.result(timeout=5)

    assert sorted(map(str, [fast_result, slow_result])) == ["True", "success"]
    assert repo.conflicts == 1
    stored = world.stored(payment)
    assert stored.status is PaymentStatus.CONFIRMED
    assert stored.version == 2
    assert world.events_of(payment) == [
        (payment.id, None, PaymentStatus.PENDING),
        (payment.id, PaymentStatus.PENDING, PaymentStatus.CONFIRMED),
    ]


def test_a_conflict_on_every_try_gives_up_without_overwriting() -> None:
    class AlwaysStale(InMemoryPaymentRepository):
        def save(self, payment: Payment, *, previous: Payment) -> Payment:
            raise ConcurrencyConflict(payment.id, previous.version)

    world = World(repo=AlwaysStale())
    payment = world.create()
    world.pay(payment)

    with pytest.raises(ConcurrencyConflict):
        world.service.verify(ALICE, payment.id or 0)

    assert world.stored(payment) == payment
