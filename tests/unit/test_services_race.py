"""Races: a notification and a verify call apply a transition once; creates that share
an Idempotency-Key all answer the first payment."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from payments_core.errors import ConcurrencyConflict, IdempotencyKeyReused, PaymentExists
from payments_core.inmemory import InMemoryPaymentRepository
from payments_core.payment import Payment, PaymentStatus
from payments_core.refund import Refund
from payments_core.values import ChangeSource, IdempotencyClaim
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

    def save(
        self,
        payment: Payment,
        *,
        previous: Payment,
        refunds: Sequence[Refund] = (),
        source: ChangeSource | None = None,
    ) -> Payment:
        with self._arming:
            hold, self._armed = self._armed, False
        if hold:
            self.holding.set()
            assert self.release.wait(timeout=5)
        try:
            return super().save(payment, previous=previous, refunds=refunds, source=source)
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
        def save(
            self,
            payment: Payment,
            *,
            previous: Payment,
            refunds: Sequence[Refund] = (),
            source: ChangeSource | None = None,
        ) -> Payment:
            raise ConcurrencyConflict(payment.id, previous.version)

    world = World(repo=AlwaysStale())
    payment = world.create()
    world.pay(payment)

    with pytest.raises(ConcurrencyConflict):
        world.service.verify(ALICE, payment.id or 0)

    assert world.stored(payment) == payment


class TwinsRepository(InMemoryPaymentRepository):
    """Holds the first two adds until both creates reach theirs: both have looked for
    their Idempotency-Key and found it unused, as two requests racing on two servers."""

    def __init__(self) -> None:
        super().__init__()
        self._both_adding = threading.Barrier(2)
        self._adds = itertools.count()

    def add(
        self,
        payment: Payment,
        *,
        idempotency: IdempotencyClaim | None = None,
        source: ChangeSource = ChangeSource.CREATE,
    ) -> Payment:
        if next(self._adds) < 2:
            self._both_adding.wait(timeout=5)
        return super().add(payment, idempotency=idempotency, source=source)


def _twins(first: dict[str, str], second: dict[str, str]) -> list[Payment | Exception]:
    repo = TwinsRepository()
    world = World(repo=repo)
    order_id = world.order()

    def create(body: dict[str, str]) -> Payment | Exception:
        try:
            return world.service.create(ALICE, **{"order_id": order_id, **body})
        except (PaymentExists, IdempotencyKeyReused) as exc:
            return exc

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(create, [first, second], timeout=10))


def test_creates_racing_with_one_key_and_body_answer_the_same_payment() -> None:
    body = {"subject": "Tea", "idempotency_key": "k1"}

    outcomes = _twins(body, body)

    assert all(isinstance(outcome, Payment) for outcome in outcomes), outcomes
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize(
    ("second", "refusal"),
    [
        ({"subject": "Coffee", "idempotency_key": "k1"}, IdempotencyKeyReused),
        ({"subject": "Tea", "idempotency_key": "k2"}, PaymentExists),
        ({"subject": "Tea"}, PaymentExists),
    ],
    ids=["same key, other body", "other key", "no key"],
)
def test_a_racing_create_that_is_not_a_twin_is_refused_as_it_would_be_after(
    second: dict[str, str], refusal: type[Exception]
) -> None:
    outcomes = _twins({"subject": "Tea", "idempotency_key": "k1"}, second)

    payments = [outcome for outcome in outcomes if isinstance(outcome, Payment)]
    refused = [type(outcome) for outcome in outcomes if not isinstance(outcome, Payment)]
    assert len(payments) == 1, outcomes
    assert refused == [refusal]
