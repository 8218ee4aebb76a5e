"""ExamplePay passes the core's vendor contract suite, and is found through its entry point."""

from __future__ import annotations

import secrets

import pytest
from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_core.testing import VendorContract

from payments_examplepay import ExamplePayGateway


class ExampleBuyer:
    """Pays at ExamplePay and hands over the notification it sent."""

    def __init__(self, gateway: ExamplePayGateway) -> None:
        self._gateway = gateway
        self._sent: dict[str, bytes] = {}

    def pay(self, reference: str) -> None:
        self._sent[reference] = self._gateway.buyer_pays(reference)

    def notification(self, reference: str) -> tuple[bytes, dict[str, str]]:
        return self._sent[reference], {"content-type": "application/x-www-form-urlencoded"}


class TestExamplePay(VendorContract):
    @pytest.fixture
    def vendor(self) -> ExamplePayGateway:
        return ExamplePayGateway(secrets.token_bytes(32))

    @pytest.fixture
    def buyer(self, vendor: ExamplePayGateway) -> ExampleBuyer:
        return ExampleBuyer(vendor)


def test_the_installed_plugin_is_found_through_its_entry_point() -> None:
    hooks = PaymentHooks(make_plugin_manager())

    gateways = hooks.vendor_gateways({"EXAMPLEPAY_SECRET": "s" * 32})

    assert "examplepay" in gateways


def test_a_short_secret_names_the_setting() -> None:
    hooks = PaymentHooks(make_plugin_manager())

    with pytest.raises(ValueError, match="EXAMPLEPAY_SECRET"):
        hooks.vendor_gateways({"EXAMPLEPAY_SECRET": "short"})
