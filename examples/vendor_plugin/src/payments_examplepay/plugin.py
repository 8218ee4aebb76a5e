"""The ``payments`` hook implementation: found through the ``payments`` entry point group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from payments_core.hookspecs import hookimpl

from payments_examplepay.gateway import ExamplePayGateway

if TYPE_CHECKING:
    from payments_core.ports import VendorGateway
    from payments_core.values import Settings


@hookimpl
def payments_vendor_gateways(settings: Settings) -> Sequence[VendorGateway]:
    """ExamplePay when ``EXAMPLEPAY_SECRET`` is set, else nothing.

    Raises:
        ValueError: EXAMPLEPAY_SECRET is too short (the message names it, never shows it).
    """
    secret = (settings.get("EXAMPLEPAY_SECRET") or "").strip()
    if not secret:
        return []
    if len(secret) < 32:
        raise ValueError("EXAMPLEPAY_SECRET must be at least 32 characters")
    return [ExamplePayGateway(secret.encode())]
