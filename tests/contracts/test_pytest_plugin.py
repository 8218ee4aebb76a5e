"""The ``payments`` pytest plugin: a project with no conftest runs the contract suites.

Each test runs pytest in a subprocess on a throwaway project, as a plugin author's CI would,
with warnings as errors (pytest warns when it cannot rewrite an already imported module).
"""

from __future__ import annotations

import pytest

from payments_core.testing import RepositoryContract, VendorContract

IN_MEMORY_ADAPTERS = """
import pytest

from payments_core.fakevendor import FakeVendor
from payments_core.inmemory import InMemoryPaymentRepository
from payments_core.testing import RepositoryContract, VendorContract


class Buyer:
    def __init__(self, vendor):
        self.vendor, self.sent = vendor, {}

    def pay(self, reference):
        self.sent[reference] = self.vendor.pay(reference)

    def notification(self, reference):
        return self.sent[reference], {"content-type": "application/x-www-form-urlencoded"}


class TestRepository(RepositoryContract):
    @pytest.fixture
    def repo(self):
        return InMemoryPaymentRepository()


class TestVendor(VendorContract):
    @pytest.fixture
    def vendor(self, clock):
        return FakeVendor(clock=clock)

    @pytest.fixture
    def buyer(self, vendor):
        return Buyer(vendor)
"""

VERSION_TWO_ON_ADD = """
import pytest
from attrs import evolve

from payments_core.inmemory import InMemoryPaymentRepository
from payments_core.testing import PaymentsContract


class OffByOne(InMemoryPaymentRepository):
    def add(self, payment, *, idempotency=None):
        return evolve(super().add(payment, idempotency=idempotency), version=2)


class TestOffByOne(PaymentsContract):
    @pytest.fixture
    def repo(self):
        return OffByOne()
"""


def _contract_tests(suite: type) -> int:
    return len([name for name in dir(suite) if name.startswith("test_")])


def test_a_plugin_author_runs_the_suites_without_a_conftest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_adapters=IN_MEMORY_ADAPTERS)

    result = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider")

    result.assert_outcomes(
        passed=_contract_tests(RepositoryContract) + _contract_tests(VendorContract)
    )


def test_a_failed_contract_assert_shows_the_values(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_off_by_one=VERSION_TWO_ON_ADD)

    result = pytester.runpytest_subprocess(
        "-W", "error", "-p", "no:cacheprovider", "-k", "test_add_assigns_an_id_and_version_one"
    )

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["E   *assert 2 == 1", "E   *where 2 = Payment(*).version"])


def test_loading_the_plugin_imports_nothing_of_the_core(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bystander="""
        import sys

        def test_no_core_module_is_loaded():
            assert [m for m in sys.modules if m.partition(".")[0] == "payments_core"] == []
        """
    )

    result = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=1)


CLOCK_USER = """
from payments_core.inmemory import FrozenClock

def test_the_clock_is_frozen(clock):
    assert isinstance(clock, FrozenClock)
    assert clock.now() == clock.now()
"""


def test_with_autoloading_off_p_payments_turns_it_on(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_clock=CLOCK_USER)

    result = pytester.runpytest_subprocess(
        "-W", "error", "-p", "no:cacheprovider", "-p", "payments"
    )

    result.assert_outcomes(passed=1)
