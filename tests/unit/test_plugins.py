"""The plugin manager, entry-point loading, and each ``payments`` hook."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence

import pytest

from payments_core import hookspecs
from payments_core.fakevendor import FakeVendor
from payments_core.hookspecs import hookimpl
from payments_core.inmemory import InMemoryPaymentRepository
from payments_core.payment import Payment, PaymentStatus
from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_core.ports import PaymentRepository, VendorGateway
from payments_core.values import Settings
from tests.unit.world import World, registered


class VendorPlugin:
    """Provides one fake vendor, named by the setting ``{DEFAULT}_VENDOR`` when it is set."""

    def __init__(self, default: str = "acme") -> None:
        self.default = default
        self.settings: list[Settings] = []

    @hookimpl
    def payments_vendor_gateways(self, settings: Settings) -> Sequence[VendorGateway]:
        self.settings.append(settings)
        return [FakeVendor(settings.get(f"{self.default.upper()}_VENDOR", self.default))]


class NoVendorPlugin:
    @hookimpl
    def payments_vendor_gateways(self) -> Sequence[VendorGateway]:
        return []


class RepositoryPlugin:
    """Answers URLs starting with ``prefix`` with the same repository every time."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.repo = InMemoryPaymentRepository()

    @hookimpl
    def payments_payment_repository(self, url: str) -> PaymentRepository | None:
        return self.repo if url.startswith(self.prefix) else None


class FakeEntryPoint:
    def __init__(self, name: str, group: str, plugin: object) -> None:
        self.name = name
        self.group = group
        self.value = f"{name}_package.plugin"
        self._plugin = plugin

    def load(self) -> object:
        return self._plugin


class FakeDistribution:
    def __init__(self, *entry_points: FakeEntryPoint) -> None:
        self.entry_points = entry_points


@pytest.fixture
def hooks() -> PaymentHooks:
    return PaymentHooks(make_plugin_manager(load_entrypoints=False))


def test_make_plugin_manager_loads_the_payments_entry_point_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    acme = VendorPlugin()
    stranger = VendorPlugin("stranger")
    installed = [
        FakeDistribution(FakeEntryPoint("acme", "payments", acme)),
        FakeDistribution(FakeEntryPoint("stranger", "pytest11", stranger)),
    ]
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: installed)

    pm = make_plugin_manager()

    assert pm.get_plugin("acme") is acme
    assert not pm.has_plugin("stranger")
    assert pm.has_plugin("payments_core.memory")
    assert list(PaymentHooks(pm).vendor_gateways({})) == ["acme"]


def test_make_plugin_manager_without_entry_points_reads_no_metadata(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_metadata() -> list[FakeDistribution]:
        raise AssertionError("package metadata was read")

    monkeypatch.setattr(importlib.metadata, "distributions", no_metadata)

    pm = make_plugin_manager(load_entrypoints=False)

    assert pm.has_plugin("payments_core.memory")
    assert PaymentHooks(pm).vendor_gateways({}) == {}


def test_memory_urls_are_answered_by_the_in_memory_fallback(hooks: PaymentHooks) -> None:
    first = hooks.repository("memory://", {})
    second = hooks.repository("memory://", {})

    assert isinstance(first, InMemoryPaymentRepository)
    assert first is not second


def test_an_unknown_url_names_the_setting_but_not_the_password(hooks: PaymentHooks) -> None:
    url = "postgresql+psycopg://payments:s3cr3t@db.internal:5432/payments"

    with pytest.raises(ValueError, match="PAYMENTS_DATABASE_URL") as err:
        hooks.repository(url, {})

    assert "s3cr3t" not in str(err.value)
    assert "payments:***@db.internal:5432/payments" in str(err.value)


def test_an_unknown_url_with_an_at_sign_in_the_password_hides_all_of_it(
    hooks: PaymentHooks,
) -> None:
    with pytest.raises(ValueError, match="PAYMENTS_DATABASE_URL") as err:
        hooks.repository("mysql://user:p@ss:w0rd@host/db", {})

    assert "p@ss" not in str(err.value)
    assert "w0rd" not in str(err.value)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app@db.internal/payments?password=s3cr3t",
        "postgresql://db.internal/payments?user=app&password=s3cr3t",
        "postgresql://app:s3cr3t@db.internal/payments?sslpassword=s3cr3t@x",
    ],
)
def test_an_unknown_url_does_not_echo_a_password_in_its_query(
    hooks: PaymentHooks, url: str
) -> None:
    with pytest.raises(ValueError, match="PAYMENTS_DATABASE_URL") as err:
        hooks.repository(url, {})

    assert "s3cr3t" not in str(err.value)
    assert "db.internal/payments" in str(err.value)


def test_two_plugins_providing_the_same_vendor_name_is_an_error() -> None:
    pm = make_plugin_manager(load_entrypoints=False)
    pm.register(VendorPlugin(), name="one")
    pm.register(VendorPlugin(), name="two")

    with pytest.raises(ValueError, match="two plugins provide the vendor 'acme'"):
        PaymentHooks(pm).vendor_gateways({})


def test_hook_payments_vendor_gateways() -> None:
    pm = make_plugin_manager(load_entrypoints=False)
    acme = VendorPlugin()
    pm.register(acme, name="acme")
    pm.register(VendorPlugin("other"), name="other")
    pm.register(NoVendorPlugin(), name="none")
    settings = {"ACME_VENDOR": "acme-sandbox"}

    try:
        gateways = PaymentHooks(pm).vendor_gateways(settings)
    finally:
        for name in ("acme", "other", "none"):
            pm.unregister(name=name)

    assert sorted(gateways) == ["acme-sandbox", "other"]
    assert all(gateway.name == name for name, gateway in gateways.items())
    assert acme.settings == [settings]
    assert not hookspecs.payments_vendor_gateways.payments_spec.get("firstresult")  # type: ignore[attr-defined]  # set by the HookspecMarker


def test_hook_payments_payment_repository() -> None:
    pm = make_plugin_manager(load_entrypoints=False)
    sql = RepositoryPlugin("sqlite://")
    shared = RepositoryPlugin("memory://shared")
    pm.register(sql, name="sql")
    pm.register(shared, name="shared")
    hooks = PaymentHooks(pm)

    try:
        answers = {url: hooks.repository(url, {}) for url in ["sqlite:///x.db", "memory://shared"]}
        fallback = hooks.repository("memory://", {})
    finally:
        pm.unregister(name="sql")
        pm.unregister(name="shared")

    assert answers == {"sqlite:///x.db": sql.repo, "memory://shared": shared.repo}
    assert isinstance(fallback, InMemoryPaymentRepository)
    assert fallback not in (sql.repo, shared.repo)
    assert hookspecs.payments_payment_repository.payments_spec["firstresult"] is True  # type: ignore[attr-defined]  # as above


def test_hook_payments_status_changed(world: World) -> None:
    heard: list[tuple[int | None, PaymentStatus | None, PaymentStatus]] = []

    class OrderBook:
        @hookimpl
        def payments_status_changed(
            self, payment: Payment, previous: PaymentStatus | None, current: PaymentStatus
        ) -> None:
            heard.append((payment.id, previous, current))

    with registered(world, OrderBook(), "order-book"):
        payment = world.create()
        world.notify(world.pay(payment))

    assert heard == [
        (payment.id, None, PaymentStatus.PENDING),
        (payment.id, PaymentStatus.PENDING, PaymentStatus.CONFIRMED),
    ]
    assert not world.pm.has_plugin("order-book")
