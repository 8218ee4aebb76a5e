"""Typed seams: optional capabilities as Protocols, health and close on the service, real ids."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from payments_core.errors import ConcurrencyConflict, OrderNotFound, StoreUnavailable
from payments_core.fakevendor import FakeVendor
from payments_core.inmemory import InMemoryOrders, InMemoryPaymentRepository
from payments_core.payment import Payment
from payments_core.ports import Closeable, Pingable
from payments_core.refund import Refund
from payments_core.services import PaymentService
from payments_core.values import ChangeSource
from tests.unit.world import ALICE, BOB, World


class PingedRepository(InMemoryPaymentRepository):
    """A repository that can be pinged, up or down, and closed."""

    def __init__(self, *, up: bool = True) -> None:
        super().__init__()
        self.up = up
        self.pings = 0
        self.closed = False

    def ping(self) -> None:
        self.pings += 1
        if not self.up:
            raise StoreUnavailable()

    def close(self) -> None:
        self.closed = True


class ClosingVendor(FakeVendor):
    """A vendor holding a session to release; it may fail to."""

    def __init__(self, name: str, log: list[str], *, fails: bool = False) -> None:
        super().__init__(name)
        self._log = log
        self._fails = fails

    def close(self) -> None:
        self._log.append(self.name)
        if self._fails:
            raise OSError("the session would not close")


class ClosingOrders(InMemoryOrders):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self._log = log

    def close(self) -> None:
        self._log.append("orders")


class LoggedRepository(InMemoryPaymentRepository):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self._log = log

    def close(self) -> None:
        self._log.append("repository")


class AlwaysStale(InMemoryPaymentRepository):
    """Every save loses the race, as under a storm of concurrent writers."""

    def save(
        self,
        payment: Payment,
        *,
        previous: Payment,
        refunds: Sequence[Refund] = (),
        source: ChangeSource | None = None,
    ) -> Payment:
        raise ConcurrencyConflict(previous.id, previous.version)


def _service(repo: InMemoryPaymentRepository, vendors: Sequence[FakeVendor] = ()) -> PaymentService:
    vendor_list = list(vendors) or [FakeVendor("fake")]
    return PaymentService(
        repo=repo,
        vendors={v.name: v for v in vendor_list},
        orders=InMemoryOrders(),
        clock=World().clock,
        default_vendor=vendor_list[0].name,
    )


def test_health_pings_a_pingable_repository() -> None:
    repo = PingedRepository()

    _service(repo).health()

    assert repo.pings == 1


def test_health_raises_when_the_repository_does_not_answer() -> None:
    with pytest.raises(StoreUnavailable):
        _service(PingedRepository(up=False)).health()


def test_a_repository_that_cannot_be_pinged_is_taken_as_up() -> None:
    repo = InMemoryPaymentRepository()

    _service(repo).health()

    assert not isinstance(repo, Pingable)


def test_the_capabilities_are_checked_by_type() -> None:
    assert isinstance(PingedRepository(), Pingable)
    assert isinstance(PingedRepository(), Closeable)
    assert not isinstance(FakeVendor(), Closeable)
    assert not isinstance(InMemoryOrders(), Closeable)


def test_close_releases_vendors_then_orders_then_the_repository() -> None:
    log: list[str] = []
    service = PaymentService(
        repo=LoggedRepository(log),
        vendors={"a": ClosingVendor("a", log), "b": ClosingVendor("b", log)},
        orders=ClosingOrders(log),
        clock=World().clock,
        default_vendor="a",
    )

    service.close()

    assert log == ["a", "b", "orders", "repository"]


def test_close_closes_every_part_even_when_one_fails() -> None:
    log: list[str] = []
    service = PaymentService(
        repo=LoggedRepository(log),
        vendors={"a": ClosingVendor("a", log, fails=True)},
        orders=ClosingOrders(log),
        clock=World().clock,
        default_vendor="a",
    )

    with pytest.raises(OSError, match="would not close"):
        service.close()

    assert log == ["a", "orders", "repository"]


def test_close_skips_parts_with_nothing_to_release() -> None:
    repo = PingedRepository()

    _service(repo).close()

    assert repo.closed


def test_the_order_book_answers_whoever_asks_and_the_use_case_checks_the_buyer() -> None:
    world = World()
    order_id = world.order(buyer="alice")

    seen_by_bob = world.orders.get(order_id, caller=BOB)

    assert seen_by_bob.buyer == "alice"
    with pytest.raises(OrderNotFound):
        world.service.create(BOB, order_id=order_id, subject="Tea")


def test_a_conflict_that_never_settles_names_the_last_version_seen() -> None:
    world = World(AlwaysStale())
    payment = world.create()
    assert payment.id is not None
    world.pay(payment)

    with pytest.raises(ConcurrencyConflict) as raised:
        world.service.verify(ALICE, payment.id)

    assert (raised.value.payment_id, raised.value.expected_version) == (payment.id, 1)
