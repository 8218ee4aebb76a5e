"""build_service wires status-change delivery: inline, or from the background thread."""

from __future__ import annotations

import threading
from decimal import Decimal

from payments_core.delivery import BackgroundDelivery
from payments_core.fakevendor import FakeVendor
from payments_core.hookspecs import hookimpl
from payments_core.inmemory import InMemoryOrders
from payments_core.payment import PaymentStatus
from payments_core.plugins import PaymentsPluginManager, make_plugin_manager
from payments_core.services import PaymentService
from payments_core.values import Caller, Order, Settings
from payments_http import compose

ALICE = Caller(username="alice", roles={"CUSTOMER"})


class Shop:
    """A fake vendor and a status hook that notes which thread delivered it what."""

    def __init__(self) -> None:
        self.vendor = FakeVendor()
        self.heard: list[tuple[PaymentStatus, str]] = []
        self.told = threading.Event()

    @hookimpl
    def payments_vendor_gateways(self, settings: Settings) -> list[FakeVendor]:
        return [self.vendor]

    @hookimpl
    def payments_status_changed(self, current: PaymentStatus) -> None:
        self.heard.append((current, threading.current_thread().name))
        self.told.set()


def _plugins(shop: Shop) -> PaymentsPluginManager:
    pm = make_plugin_manager(load_entrypoints=False)
    pm.register(shop, name="shop")
    return pm


def _create(service: PaymentService) -> None:
    service.create(ALICE, order_id="o1", subject="Tea")


def _build(shop: Shop, *, background: bool) -> tuple[PaymentService, BackgroundDelivery | None]:
    orders = InMemoryOrders(
        [Order(id="o1", buyer="alice", total=Decimal("1.00"), status="CREATED")]
    )
    return compose.build_service(
        {"PAYMENTS_DATABASE_URL": "memory://", "PAYMENTS_VENDOR": "fake"},
        plugin_manager=_plugins(shop),
        orders=orders,
        background_delivery=background,
    )


def test_without_background_delivery_a_change_is_delivered_before_the_call_returns() -> None:
    shop = Shop()
    service, delivery = _build(shop, background=False)

    _create(service)

    assert delivery is None
    assert shop.heard == [(PaymentStatus.PENDING, threading.current_thread().name)]


def test_with_background_delivery_a_change_is_delivered_by_its_thread_only() -> None:
    shop = Shop()
    service, delivery = _build(shop, background=True)
    assert delivery is not None

    _create(service)
    before_start = list(shop.heard)
    delivery.start()
    told = shop.told.wait(5)
    delivery.stop()

    assert before_start == []
    assert told
    assert shop.heard == [(PaymentStatus.PENDING, "payments-delivery")]
