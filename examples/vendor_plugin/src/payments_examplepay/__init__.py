"""ExamplePay: a toy vendor, packaged as a third-party ``payments`` plugin."""

from __future__ import annotations

from payments_examplepay.gateway import ExamplePayGateway, Ledger

__all__ = ["ExamplePayGateway", "Ledger"]
