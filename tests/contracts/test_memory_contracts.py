"""The core's contract suites run against the core's own in-memory adapters."""

from __future__ import annotations

import pytest

from payments_core.fakevendor import FakeVendor
from payments_core.inmemory import FrozenClock, InMemoryPaymentRepository
from payments_core.testing import RepositoryContract, VendorContract


class FakeBuyer:
    """Pays at the fake vendor and keeps the notification it would send."""

    def __init__(self, vendor: FakeVendor) -> None:
        self._vendor = vendor
        self._bodies: dict[str, bytes] = {}

    def pay(self, reference: str) -> None:
        self._bodies[reference] = self._vendor.pay(reference)

    def notification(self, reference: str) -> tuple[bytes, dict[str, str]]:
        return self._bodies[reference], {"content-type": "application/x-www-form-urlencoded"}


class TestInMemoryRepository(RepositoryContract):
    @pytest.fixture
    def repo(self) -> InMemoryPaymentRepository:
        return InMemoryPaymentRepository()


class TestFakeVendor(VendorContract):
    @pytest.fixture
    def vendor(self, clock: FrozenClock) -> FakeVendor:
        return FakeVendor(clock=clock)

    @pytest.fixture
    def buyer(self, vendor: FakeVendor) -> FakeBuyer:
        return FakeBuyer(vendor)
