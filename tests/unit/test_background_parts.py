"""The core's background pieces: the sweeper thread, and running parts in any lifespan."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from decimal import Decimal

import pytest

import payments_http.sweeper
from payments_core.background import Sweeper, running, running_in_background
from payments_core.fakevendor import FakeVendor
from payments_core.inmemory import FrozenClock, InMemoryOrders, InMemoryPaymentRepository
from payments_core.payment import PaymentStatus
from payments_core.services import PaymentService
from payments_core.values import Caller, Order

ALICE = Caller(username="alice", roles={"CUSTOMER"})
ROOT = Caller(username="root", roles={"ADMIN"})


class Part:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    def start(self) -> None:
        self.log.append(f"start {self.name}")

    def stop(self) -> None:
        self.log.append(f"stop {self.name}")


def test_the_sweeper_thread_times_out_an_expired_attempt() -> None:
    clock = FrozenClock()
    orders = InMemoryOrders(
        [Order(id="o1", buyer="alice", total=Decimal("1.00"), status="CREATED")]
    )
    service = PaymentService(
        repo=InMemoryPaymentRepository(),
        vendors={"fake": FakeVendor(clock=clock)},
        orders=orders,
        clock=clock,
        default_vendor="fake",
    )
    payment = service.create(ALICE, order_id="o1", subject="Tea")
    assert payment.id is not None
    clock.advance(timedelta(days=1))
    sweeper = Sweeper(service, 0.01)

    sweeper.start()
    deadline = time.monotonic() + 5
    while service.get(ROOT, payment.id).status is PaymentStatus.PENDING:
        assert time.monotonic() < deadline, "the sweeper never swept"
        time.sleep(0.01)
    sweeper.stop()

    assert service.get(ROOT, payment.id).status is PaymentStatus.TIMEOUT


def test_payments_http_runs_the_cores_sweeper() -> None:
    assert payments_http.sweeper.Sweeper is Sweeper


def test_running_starts_in_order_and_stops_in_reverse_even_on_error() -> None:
    log: list[str] = []

    def work() -> None:
        with running(Part("a", log), Part("b", log)):
            log.append("work")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        work()

    assert log == ["start a", "start b", "work", "stop b", "stop a"]


def test_running_in_background_is_an_async_lifespan_block() -> None:
    log: list[str] = []

    async def lifespan() -> None:
        async with running_in_background(Part("delivery", log), Part("sweeper", log)):
            log.append("serving")

    asyncio.run(lifespan())

    assert log == [
        "start delivery",
        "start sweeper",
        "serving",
        "stop sweeper",
        "stop delivery",
    ]
