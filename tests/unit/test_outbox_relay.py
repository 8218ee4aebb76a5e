"""OutboxRelay.wake: inline without a background delivery, only a signal with one."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from attrs import evolve

from payments_core.errors import StoreUnavailable
from payments_core.hookspecs import hookimpl
from payments_core.payment import Payment, PaymentStatus
from payments_core.services import PaymentService
from tests.unit.world import ALICE, World


def _quiet(world: World) -> PaymentService:
    """The world's service storing changes without announcing them."""
    return evolve(world.service, announce=None)


def test_wake_without_a_background_delivery_delivers_now(world: World) -> None:
    payment = _quiet(world).create(ALICE, order_id=world.order(), subject="Tea")

    world.relay.wake()

    assert world.hook.events == [(payment.id, None, PaymentStatus.PENDING)]
    assert world.repo.pending_changes(limit=10) == []


def test_wake_with_a_background_delivery_only_signals_it(world: World) -> None:
    delivery = world.relay.in_background(interval=60, min_gap=0)
    payment = world.create()  # the service announces through relay.wake

    before_start = list(world.hook.events)
    delivery.start()
    deadline = time.monotonic() + 5
    while not world.hook.events and time.monotonic() < deadline:
        time.sleep(0.01)
    delivery.stop()

    assert before_start == []
    assert world.hook.events == [(payment.id, None, PaymentStatus.PENDING)]


def test_a_background_delivery_runs_on_its_own_thread(world: World) -> None:
    threads: list[str] = []
    heard = threading.Event()

    class Where:
        @hookimpl
        def payments_status_changed(self) -> None:
            threads.append(threading.current_thread().name)
            heard.set()

    world.pm.register(Where(), name="where")
    delivery = world.relay.in_background(interval=60).start()
    world.create()

    assert heard.wait(5)
    delivery.stop()
    assert threads == ["payments-delivery"]


def test_wake_logs_a_store_failure_and_leaves_the_change_for_later(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    claim = world.repo.claim_changes

    def down(*args: object, **kwargs: object) -> object:
        raise StoreUnavailable()

    monkeypatch.setattr(world.repo, "claim_changes", down)
    payment = world.create()  # stored; the delivery its service announced meets the outage
    monkeypatch.setattr(world.repo, "claim_changes", claim)
    delivered = world.relay.deliver()

    assert "status changes not delivered now: store_unavailable" in caplog.text
    assert any(r.levelno == logging.WARNING for r in caplog.records)
    assert delivered == 1
    assert world.hook.events == [(payment.id, None, PaymentStatus.PENDING)]


def test_deliver_raises_a_store_failure_for_its_caller_to_handle(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: object, **kwargs: object) -> object:
        raise StoreUnavailable()

    monkeypatch.setattr(world.repo, "claim_changes", down)

    with pytest.raises(StoreUnavailable):
        world.relay.deliver()


def test_a_relay_has_at_most_one_background_delivery(world: World) -> None:
    world.relay.in_background()

    with pytest.raises(RuntimeError, match="already"):
        world.relay.in_background()


def test_a_hook_that_stores_a_change_while_delivering_inline_does_not_deadlock(
    world: World,
) -> None:
    second: list[int | None] = []

    class Reorder:
        """On the first payment's creation, creates another (and so stores another change)."""

        @hookimpl
        def payments_status_changed(self, payment: Payment) -> None:
            if not second:
                second.append(None)
                second[0] = world.create().id

    world.pm.register(Reorder(), name="reorder")
    worker = threading.Thread(target=world.create, daemon=True)
    worker.start()
    worker.join(5)

    assert not worker.is_alive(), "the nested delivery waited for the one that called it"
    assert [e[0] for e in world.hook.events] == [1, second[0]]
    assert world.repo.pending_changes(limit=10) == []
