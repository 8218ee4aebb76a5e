"""``payments_refund_changed``: refunds' changes through the same outbox, relay and subscribers."""

from __future__ import annotations

from collections.abc import Generator
from decimal import Decimal

import pluggy
import pytest

from payments_core import hookspecs
from payments_core.hookspecs import PROJECT, hookimpl
from payments_core.payment import Payment, PaymentStatus
from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_core.refund import Refund, RefundStatus
from payments_core.values import RefundChange, StatusChange
from tests.unit.world import ADMIN, World, registered

Heard = tuple[int | None, RefundStatus | None, RefundStatus]


def _confirmed(world: World) -> Payment:
    payment = world.create(total="12.30")
    world.notify(world.pay(payment))
    return world.stored(payment)


class Ledger:
    """A plugin that books refunds only."""

    def __init__(self) -> None:
        self.heard: list[Heard] = []
        self.settings: list[object] = []

    @hookimpl
    def payments_refund_changed(
        self,
        refund: Refund,
        previous: RefundStatus | None,
        current: RefundStatus,
        settings: object,
    ) -> None:
        self.heard.append((refund.id, previous, current))
        self.settings.append(settings)


def test_hook_payments_refund_changed(world: World) -> None:
    ledger = Ledger()

    with registered(world, ledger, "ledger"):
        payment = _confirmed(world)
        refund = world.service.request_refund(ADMIN, payment.id or 0)

    assert ledger.heard == [
        (refund.id, None, RefundStatus.PENDING),
        (refund.id, RefundStatus.PENDING, RefundStatus.SUCCEEDED),
    ]
    assert ledger.settings == [{}, {}]
    assert world.repo.pending_changes(limit=100) == []


def test_the_refund_is_given_as_stored_at_delivery(world: World) -> None:
    world.repo.register_subscribers(["late"], world.clock.now())  # another process's hook
    payment = _confirmed(world)
    refund = world.service.request_refund(ADMIN, payment.id or 0, reason="why")
    seen: list[tuple[Refund, RefundStatus]] = []

    class Late:
        @hookimpl
        def payments_refund_changed(self, refund: Refund, current: RefundStatus) -> None:
            seen.append((refund, current))

    with registered(world, Late(), "late"):
        world.relay.deliver()

    now = world.repo.get_refund(refund.id or 0)
    assert now.status is RefundStatus.SUCCEEDED
    assert seen == [(now, RefundStatus.PENDING), (now, RefundStatus.SUCCEEDED)]


def test_a_plugin_with_only_a_status_hook_never_keeps_a_refund_change_pending(
    world: World,
) -> None:
    # "recorder" (the world's status hook) is a subscriber; "ledger" hears refunds only.
    ledger = Ledger()
    with registered(world, ledger, "ledger"):
        payment = _confirmed(world)
        world.service.request_refund(ADMIN, payment.id or 0, amount=Decimal(1))

        assert world.repo.pending_changes(limit=100) == []
        assert {s.name for s in world.repo.subscribers()} == {"recorder", "ledger"}
        assert world.events_of(payment)[-1][2] is PaymentStatus.CONFIRMED
        assert len(ledger.heard) == 2


def test_a_refund_change_waits_for_a_refund_hook_another_process_has(world: World) -> None:
    world.repo.register_subscribers(["elsewhere"], world.clock.now())
    payment = _confirmed(world)

    world.service.request_refund(ADMIN, payment.id or 0)
    pending = world.repo.pending_changes(limit=100)

    # This process has no refund hook named "elsewhere": every change waits for it.
    assert pending
    assert {type(c) for c in pending} == {StatusChange, RefundChange}
    refunds = [c for c in pending if isinstance(c, RefundChange)]
    assert all(c.delivered_to == {"recorder"} for c in refunds)


def test_a_failing_refund_hook_is_retried_alone(world: World) -> None:
    ledger = Ledger()
    calls: list[RefundStatus] = []

    class Broken:
        @hookimpl
        def payments_refund_changed(self, current: RefundStatus) -> None:
            calls.append(current)
            if len(calls) == 1:
                raise RuntimeError("the ticket system is down")

    with registered(world, ledger, "ledger"), registered(world, Broken(), "broken"):
        payment = _confirmed(world)
        world.service.request_refund(ADMIN, payment.id or 0)
        world.relay.deliver()

    assert calls == [RefundStatus.PENDING, RefundStatus.PENDING, RefundStatus.SUCCEEDED]
    assert [h[2] for h in ledger.heard] == [RefundStatus.PENDING, RefundStatus.SUCCEEDED]
    assert world.repo.pending_changes(limit=100) == []


class RefundWrapper:
    @hookimpl(wrapper=True)
    def payments_refund_changed(self) -> Generator[None, None, None]:
        yield


class AsyncRefundHook:
    @hookimpl
    async def payments_refund_changed(self) -> None:
        return None


@pytest.mark.parametrize(
    ("plugin", "why"), [(RefundWrapper(), "wrapper"), (AsyncRefundHook(), "async")]
)
def test_a_refund_hook_that_would_not_run_is_refused_when_registered(
    plugin: object, why: str
) -> None:
    pm = make_plugin_manager(load_entrypoints=False)

    with pytest.raises(pluggy.PluginValidationError, match="payments_refund_changed") as err:
        pm.register(plugin, name="around")

    assert why in str(err.value)
    assert not pm.has_plugin("around")


def test_a_plain_pluggy_manager_cannot_slip_a_refund_wrapper_into_delivery() -> None:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(RefundWrapper(), name="around")

    with pytest.raises(pluggy.PluginValidationError, match=r"'around'.*wrapper"):
        PaymentHooks(pm).refund_hooks()
