"""The relay registers its named status hooks as subscribers; a nameless hook is delivered to but not registered."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

import pytest

from payments_core.hookspecs import hookimpl
from payments_core.payment import PaymentStatus
from payments_core.values import Change
from tests.unit.world import World, registered


class Anonymous:
    """A hook registered without ``name=``: pluggy names it after its ``id()``."""

    def __init__(self) -> None:
        self.heard: list[PaymentStatus] = []

    @hookimpl
    def payments_status_changed(self, current: PaymentStatus) -> None:
        self.heard.append(current)


def test_a_hook_without_a_name_of_its_own_is_delivered_to_but_is_no_subscriber(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    anonymous = Anonymous()
    name = world.pm.register(anonymous)
    caplog.set_level(logging.WARNING, logger="payments_core.outbox")
    try:
        world.create()
        world.create()
    finally:
        world.pm.unregister(anonymous)

    assert name == str(id(anonymous))
    assert anonymous.heard == [PaymentStatus.PENDING, PaymentStatus.PENDING]
    assert [s.name for s in world.repo.subscribers()] == ["recorder"]
    warnings = [r.getMessage() for r in caplog.records if name in r.getMessage()]
    assert len(warnings) == 1  # once per relay, not per delivery
    assert "stable name" in warnings[0]


def test_a_hook_registered_later_becomes_a_subscriber_at_the_next_delivery(world: World) -> None:
    world.create()
    with registered(world, Anonymous(), "crm"):
        world.create()

    assert [s.name for s in world.repo.subscribers()] == ["crm", "recorder"]


def test_changes_waiting_only_for_another_processes_hook_are_not_claimed_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.repo.register_subscribers(["elsewhere"], world.clock.now())
    claims: list[int] = []
    claim = world.repo.claim_changes

    def counted(
        now: datetime, *, limit: int, lease: timedelta, hooks: Collection[str] = ()
    ) -> Sequence[Change]:
        found = claim(now, limit=limit, lease=lease, hooks=hooks)
        claims.append(len(found))
        return found

    monkeypatch.setattr(world.repo, "claim_changes", counted)
    world.create()
    world.relay.deliver()
    world.relay.deliver()

    assert claims == [1, 0, 0]  # the creation once, for the recorder; then nothing to do
    assert len(world.hook.events) == 1
    (pending,) = world.repo.pending_changes(limit=5)
    assert pending.delivered_to == frozenset({"recorder"})
