"""Status hooks run in pluggy's own order, and wrappers of them are refused at registration."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Generator, Sequence

import pluggy
import pytest

from payments_core import hookspecs
from payments_core.hookspecs import PROJECT, hookimpl
from payments_core.payment import PaymentStatus
from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_core.ports import VendorGateway
from tests.unit.test_plugins import FakeDistribution, FakeEntryPoint
from tests.unit.world import World


class Plain:
    def __init__(self, heard: list[str], name: str) -> None:
        self.heard = heard
        self.name = name

    @hookimpl
    def payments_status_changed(self, current: PaymentStatus) -> None:
        self.heard.append(self.name)


class First(Plain):
    @hookimpl(tryfirst=True)
    def payments_status_changed(self, current: PaymentStatus) -> None:
        self.heard.append(self.name)


class Last(Plain):
    @hookimpl(trylast=True)
    def payments_status_changed(self, current: PaymentStatus) -> None:
        self.heard.append(self.name)


class Wrapper:
    """A new-style wrapper: calling its function only makes a generator, running nothing."""

    def __init__(self) -> None:
        self.ran = False

    @hookimpl(wrapper=True)
    def payments_status_changed(self) -> Generator[None, None, None]:
        self.ran = True
        yield


class OldStyleWrapper(Wrapper):
    @hookimpl(hookwrapper=True)
    def payments_status_changed(self) -> Generator[None, None, None]:
        self.ran = True
        yield


class RenamedWrapper(Plain):
    """A plain status hook, and a wrapper of it under another name (pluggy's ``specname``)."""

    def __init__(self) -> None:
        super().__init__([], "renamed")

    @hookimpl(specname="payments_status_changed", wrapper=True)
    def wrap_changes(self) -> Generator[None, None, None]:
        yield


class GeneratorHook:
    """Not marked as a wrapper, but a generator: calling it runs none of its body."""

    @hookimpl
    def payments_status_changed(self) -> Generator[None, None, None]:
        yield


class AsyncHook:
    """An ``async def``: calling it makes a coroutine that nobody awaits."""

    @hookimpl
    async def payments_status_changed(self) -> None:
        return None


class GatewayWrapper:
    """A wrapper of another hook: pluggy runs that hook itself, so it stays allowed."""

    @hookimpl(wrapper=True)
    def payments_vendor_gateways(self) -> Generator[None, Sequence[VendorGateway], object]:
        return (yield)


def test_status_hooks_run_in_pluggys_order_tryfirst_first_and_trylast_last(world: World) -> None:
    heard: list[str] = []
    plugins = [
        Last(heard, "last"),
        Plain(heard, "plain-a"),
        First(heard, "first"),
        Plain(heard, "plain-b"),
    ]
    for plugin in plugins:
        world.pm.register(plugin, name=plugin.name)
    try:
        payment = world.create()
        delivered = list(heard)
        heard.clear()
        world.pm.hook.payments_status_changed(
            payment=world.stored(payment),
            previous=None,
            current=PaymentStatus.PENDING,
            settings={},
        )
    finally:
        for plugin in plugins:
            world.pm.unregister(name=plugin.name)

    assert delivered == heard == ["first", "plain-b", "plain-a", "last"]


@pytest.mark.parametrize(
    ("plugin", "why"),
    [
        (Wrapper(), "wrapper"),
        (OldStyleWrapper(), "wrapper"),
        (RenamedWrapper(), "wrapper"),
        (GeneratorHook(), "generator"),
        (AsyncHook(), "async"),
    ],
)
def test_a_status_hook_that_would_not_run_is_refused_when_registered(
    plugin: object, why: str
) -> None:
    pm = make_plugin_manager(load_entrypoints=False)

    with pytest.raises(pluggy.PluginValidationError, match="payments_status_changed") as err:
        pm.register(plugin, name="around")

    assert why in str(err.value)
    assert "'around'" in str(err.value)
    assert err.value.plugin is plugin
    assert not pm.has_plugin("around")
    assert pm.hook.payments_status_changed.get_hookimpls() == []


def test_a_wrapper_registered_after_composition_never_passes_as_delivered(world: World) -> None:
    wrapper = Wrapper()

    with pytest.raises(pluggy.PluginValidationError):
        world.pm.register(wrapper, name="around")
    payment = world.create()

    assert not wrapper.ran
    assert world.events_of(payment) == [(payment.id, None, PaymentStatus.PENDING)]
    assert all("around" not in c.delivered_to for c in world.repo.pending_changes(limit=10))


def test_an_installed_plugin_wrapping_the_status_hook_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrapper = Wrapper()
    installed = [FakeDistribution(FakeEntryPoint("around", "payments", wrapper))]
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: installed)

    with pytest.raises(pluggy.PluginValidationError, match=r"'around'.*payments_status_changed"):
        make_plugin_manager()


def test_a_wrapper_of_another_hook_is_still_allowed() -> None:
    pm = make_plugin_manager(load_entrypoints=False)

    pm.register(GatewayWrapper(), name="around")

    assert PaymentHooks(pm).vendor_gateways({}) == {}


def test_a_plain_pluggy_manager_cannot_slip_a_wrapper_into_delivery() -> None:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(Wrapper(), name="around")  # plain pluggy has no reason to refuse it

    with pytest.raises(pluggy.PluginValidationError, match=r"'around'.*wrapper"):
        PaymentHooks(pm).status_hooks()
