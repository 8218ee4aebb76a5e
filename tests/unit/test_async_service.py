"""AsyncPaymentService: the use cases as coroutines; a slow vendor never stalls the loop."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest

from payments_core import AsyncPaymentService
from payments_core.fakevendor import FakeVendor
from payments_core.money import Money
from payments_core.payment import Payment, PaymentStatus
from payments_core.ports import Clock
from payments_core.refund import RefundStatus
from payments_core.values import NotificationOutcome, TradeReport
from tests.unit.world import ADMIN, ALICE, FORM, World

GATE_LIMIT = 30.0  # a gated vendor call gives up after this, so a broken test cannot hang
PING_BOUND = 2.0  # generous: a free loop answers in microseconds, a blocked one not at all
VERIFIES = 20
WORKERS = 4


class GatedVendor(FakeVendor):
    """A vendor whose queries hang until the test opens the gate, counting those in flight."""

    def __init__(self, name: str = "fake", *, clock: Clock | None = None) -> None:
        super().__init__(name, clock=clock)
        self.gate = threading.Event()
        self.gate.set()
        self.loop_thread: threading.Thread | None = None
        self.threads: set[str] = set()
        self._count = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0

    def query(self, reference: str) -> TradeReport:
        if threading.current_thread() is self.loop_thread:  # would hang the loop: fail fast
            raise AssertionError("the event loop's own thread waited on the vendor")
        with self._count:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.threads.add(threading.current_thread().name)
        try:
            self.gate.wait(GATE_LIMIT)
            return super().query(reference)
        finally:
            with self._count:
                self.in_flight -= 1


@pytest.fixture
def gated() -> World:
    return World(vendor_class=GatedVendor)


def _vendor(world: World) -> GatedVendor:
    assert isinstance(world.vendor, GatedVendor)
    return world.vendor


async def _until(condition: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), GATE_LIMIT)


async def _ping() -> str:
    """The shop's unrelated endpoint: it needs nothing but a turn of the loop."""
    await asyncio.sleep(0)
    return "pong"


def test_twenty_verifies_on_a_hanging_vendor_leave_the_loop_answering(gated: World) -> None:
    vendor = _vendor(gated)
    paid = [gated.create() for _ in range(VERIFIES)]
    for payment in paid:
        gated.pay(payment)
    vendor.gate.clear()

    async def shop() -> list[bool]:
        vendor.loop_thread = threading.current_thread()
        async with AsyncPaymentService(gated.service, max_workers=WORKERS) as payments:
            verifies = [
                asyncio.create_task(payments.verify(ALICE, p.id)) for p in paid if p.id is not None
            ]
            await _until(lambda: vendor.in_flight == WORKERS or any(t.done() for t in verifies))
            pongs = [await asyncio.wait_for(_ping(), PING_BOUND) for _ in range(5)]
            assert pongs == ["pong"] * 5
            assert not any(task.done() for task in verifies)  # all still waiting on the vendor
            vendor.gate.set()
            return await asyncio.wait_for(asyncio.gather(*verifies), GATE_LIMIT)

    assert asyncio.run(shop()) == [True] * VERIFIES
    assert vendor.most_in_flight == WORKERS  # bounded by the pool, not by the callers
    assert {gated.stored(p).status for p in paid} == {PaymentStatus.CONFIRMED}


def test_every_use_case_runs_in_the_pool_and_answers_as_the_service_does(gated: World) -> None:
    vendor = _vendor(gated)
    order_id = gated.order()

    async def shop() -> None:
        async with AsyncPaymentService(gated.service, max_workers=2) as payments:
            payments.check_may_create(ALICE)
            created = await payments.create(ALICE, order_id=order_id, subject="Tea")
            assert created.id is not None
            assert (await payments.get(ALICE, created.id)).id == created.id
            retried = await payments.retry(ALICE, created.id)
            assert len(retried.attempts) == 2
            reference = gated.reference(retried)
            assert await payments.sweep_attempt(created.id, reference) is None
            assert (await payments.sweep()).checked == 1
            assert not await payments.verify(ALICE, created.id)
            outcome = await payments.handle_notification("fake", vendor.pay(reference), FORM)
            assert outcome is NotificationOutcome.APPLIED
            await payments.health()
            assert payments.vendor("fake") is vendor
            page = await payments.list_payments(ALICE, limit=1)
            assert [p.id for p in page.payments] == [created.id]
            assert [c.current for c in await payments.status_changes(ALICE, created.id)] == [
                PaymentStatus.PENDING,
                PaymentStatus.CONFIRMED,
            ]
            assert len(await payments.attempts(ADMIN, created.id)) == 2

    asyncio.run(shop())

    # the sweep asks the vendor from its own pool, started from one of ours
    asked_from = {name.split("_")[0] for name in vendor.threads}
    assert asked_from == {"payments-async", "sweep"}
    assert [e[2] for e in gated.hook.events][-1] is PaymentStatus.CONFIRMED


def test_a_call_sees_the_callers_context_variables(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")
    seen: list[str] = []
    real_get = world.repo.get

    def get(payment_id: int) -> Payment:
        seen.append(request_id.get("unset"))
        return real_get(payment_id)

    payment = world.create()
    monkeypatch.setattr(world.repo, "get", get)

    async def handler() -> None:
        request_id.set("r-1")
        async with AsyncPaymentService(world.service) as payments:
            assert payment.id is not None
            await payments.get(ALICE, payment.id)

    asyncio.run(handler())

    assert seen == ["r-1"]


def test_close_closes_the_service_once_and_refuses_later_calls(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[str] = []
    monkeypatch.setattr(world.vendor, "close", lambda: closed.append("vendor"), raising=False)

    async def run(step: Callable[[AsyncPaymentService], Awaitable[object]]) -> None:
        payments = AsyncPaymentService(world.service)
        await payments.close()
        await payments.close()
        await step(payments)

    with pytest.raises(RuntimeError):
        asyncio.run(run(lambda p: p.health()))

    assert closed == ["vendor"]


def test_the_pool_has_at_least_one_worker(world: World) -> None:
    with pytest.raises(ValueError, match="max_workers"):
        AsyncPaymentService(world.service, max_workers=0)


def test_the_refund_use_cases_run_in_the_pool_and_answer_as_the_service_does(
    world: World,
) -> None:
    payment = world.create(total="12.30")
    world.notify(world.pay(payment))
    assert payment.id is not None
    pid = payment.id

    async def shop() -> None:
        async with AsyncPaymentService(world.service, max_workers=2) as payments:
            refund = await payments.request_refund(
                ADMIN, pid, amount=Decimal("2.30"), reason="why", idempotency_key="k"
            )
            assert refund.id is not None
            assert refund.status is RefundStatus.SUCCEEDED
            assert await payments.refunds(ALICE, pid) == [refund]
            assert await payments.get_refund(ALICE, pid, refund.id) == refund
            assert await payments.sweep_refund(refund.id) is None  # settled: nothing to do

    asyncio.run(shop())

    assert world.vendor.refunded(payment.attempts[0].reference) == Money.parse("2.30")
