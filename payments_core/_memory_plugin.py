"""The in-memory repository as a plugin answering ``memory://``, asked after all others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from payments_core.hookspecs import hookimpl
from payments_core.inmemory import InMemoryPaymentRepository

if TYPE_CHECKING:
    from payments_core.ports import PaymentRepository
    from payments_core.values import Settings


@hookimpl(trylast=True)
def payments_payment_repository(url: str, settings: Settings) -> PaymentRepository | None:
    """A fresh in-memory repository for ``memory://``, else None."""
    del settings  # the in-memory store needs no configuration
    return InMemoryPaymentRepository() if url.startswith("memory://") else None
