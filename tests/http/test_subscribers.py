"""Subscribers across processes: a process without the shop's hook never swallows a change.

Two compositions on one SQLite file play two processes of one deployment: the shop's
web process, whose hook is registered in its code (not through an entry point), and a
cron process running the sweep with the installed plugins only.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from payments_core.delivery import BackgroundDelivery
from payments_core.fakevendor import FakeVendor
from payments_core.hookspecs import hookimpl
from payments_core.inmemory import InMemoryOrders
from payments_core.payment import Payment, PaymentStatus
from payments_core.plugins import PaymentsPluginManager, make_plugin_manager
from payments_core.services import PaymentService
from payments_core.sweep import sweep
from payments_core.values import Caller, Order, Settings
from payments_http import cli, compose
from payments_sqlstore import plugin as sqlstore_plugin

ALICE = Caller(username="alice", roles={"CUSTOMER"})


class Vendor:
    """The installed vendor plugin: every process of the deployment has it."""

    def __init__(self, vendor: FakeVendor) -> None:
        self.vendor = vendor

    @hookimpl
    def payments_vendor_gateways(self, settings: Settings) -> list[FakeVendor]:
        return [self.vendor]


class MarkOrderPaid:
    """The shop's hook, registered by the shop's app under a stable name."""

    def __init__(self) -> None:
        self.heard: list[tuple[int | None, PaymentStatus]] = []

    @hookimpl
    def payments_status_changed(self, payment: Payment, current: PaymentStatus) -> None:
        self.heard.append((payment.id, current))


def _process(
    url: str, vendor: FakeVendor, hook: MarkOrderPaid | None
) -> tuple[PaymentService, BackgroundDelivery]:
    pm: PaymentsPluginManager = make_plugin_manager(load_entrypoints=False)
    pm.register(sqlstore_plugin, name="payments_sqlstore")
    pm.register(Vendor(vendor), name="vendor")
    if hook is not None:
        pm.register(hook, name="shop-orders")
    orders = InMemoryOrders(
        [Order(id="o1", buyer="alice", total=Decimal("9.90"), status="CREATED")]
    )
    service, delivery = compose.build_service(
        {"PAYMENTS_DATABASE_URL": url, "PAYMENTS_VENDOR": "fake"},
        plugin_manager=pm,
        orders=orders,
        background_delivery=True,
    )
    assert delivery is not None
    return service, delivery


def _deliver_once(delivery: BackgroundDelivery) -> None:
    """Start the delivery thread and stop it: stopping delivers what is pending once."""
    delivery.start()
    delivery.stop()


def test_a_change_made_by_a_process_without_the_hook_is_heard_by_the_shops_hook(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'payments.db'}"
    vendor, hook = FakeVendor(), MarkOrderPaid()
    shop, shop_delivery = _process(url, vendor, hook)
    created = shop.create(ALICE, order_id="o1", subject="Tea")
    _deliver_once(shop_delivery)  # the shop has delivered before: its hook is a subscriber
    vendor.pay(created.attempts[0].reference)
    cron, cron_delivery = _process(url, vendor, None)

    report = sweep(cron)  # the sweep confirms the paid payment, then delivers
    _deliver_once(cron_delivery)
    cron.close()
    assert report.changed == {"CONFIRMED": 1}
    assert hook.heard == [(created.id, PaymentStatus.PENDING)]
    shop_again, shop_again_delivery = _process(url, vendor, hook)  # the shop, restarted
    _deliver_once(shop_again_delivery)
    shop_again.close()
    once_more, once_more_delivery = _process(url, vendor, hook)  # and restarted again
    _deliver_once(once_more_delivery)

    assert hook.heard == [
        (created.id, PaymentStatus.PENDING),
        (created.id, PaymentStatus.CONFIRMED),
    ]
    assert once_more.repo.pending_changes(limit=10) == []
    shop.close()
    once_more.close()


def test_a_shop_that_started_but_never_delivered_still_hears_the_cron_processs_change(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'payments.db'}"
    vendor, hook = FakeVendor(), MarkOrderPaid()
    cron, cron_delivery = _process(url, vendor, None)
    created = cron.create(ALICE, order_id="o1", subject="Tea")
    vendor.pay(created.attempts[0].reference)
    shop, shop_delivery = _process(url, vendor, hook)  # composed: registered, not delivered

    sweep(cron)
    _deliver_once(cron_delivery)
    _deliver_once(shop_delivery)

    assert hook.heard == [  # the creation was still pending when the shop registered
        (created.id, PaymentStatus.PENDING),
        (created.id, PaymentStatus.CONFIRMED),
    ]
    cron.close()
    shop.close()


class Settled:
    """A hook that reads the settings it is given."""

    def __init__(self) -> None:
        self.urls: list[str | None] = []

    @hookimpl
    def payments_status_changed(self, settings: Settings) -> None:
        self.urls.append(settings.get("PAYMENTS_DATABASE_URL"))


def test_a_status_hook_is_given_the_effective_settings() -> None:
    pm = make_plugin_manager(load_entrypoints=False)
    pm.register(Vendor(FakeVendor()), name="vendor")
    hook = Settled()
    pm.register(hook, name="settled")
    orders = InMemoryOrders(
        [Order(id="o1", buyer="alice", total=Decimal("9.90"), status="CREATED")]
    )
    service, _ = compose.build_service(
        {"PAYMENTS_DATABASE_URL": "memory://", "PAYMENTS_VENDOR": "fake"},
        plugin_manager=pm,
        orders=orders,
    )

    service.create(ALICE, order_id="o1", subject="Tea")

    assert hook.urls == ["memory://"]


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = cli.main(argv)
    out, err = capsys.readouterr()
    assert err == ""
    return status, out


def test_hooks_list_and_retire_name_the_subscribers_and_free_what_waited_for_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'payments.db'}"
    vendor = FakeVendor()
    shop, _ = _process(url, vendor, MarkOrderPaid())  # registers shop-orders
    shop.create(ALICE, order_id="o1", subject="Tea")
    shop.close()  # its hook never delivered: the change waits for it
    database = ["--database-url", url]

    listed = _cli(["hooks", "list", *database], capsys)
    retired = _cli(["hooks", "retire", "shop-orders", *database], capsys)
    relisted = _cli(["hooks", "list", *database], capsys)
    unknown = cli.main(["hooks", "retire", "nobody", *database])

    assert listed[0] == 0
    assert listed[1].startswith("shop-orders\tactive\t1 pending\tregistered ")
    assert retired == (0, "retired shop-orders: 1 changes no longer wait\n")
    assert relisted[1].startswith("shop-orders\tretired ")
    assert unknown == 2
    assert "no subscriber 'nobody' is registered" in capsys.readouterr().err
