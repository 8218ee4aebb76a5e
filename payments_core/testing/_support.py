"""Helpers the contract suites share, exported for adapters' own tests too."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from payments_core.inmemory import FrozenClock
from payments_core.money import Money
from payments_core.payment import Attempt, Payment


@contextmanager
def raises(kind: type[BaseException]) -> Iterator[list[BaseException]]:
    """Assert that the block raises ``kind``; the list holds the error afterwards."""
    caught: list[BaseException] = []
    try:
        yield caught
    except kind as exc:
        caught.append(exc)
        return
    raise AssertionError(f"{kind.__name__} was not raised")


def unique(prefix: str) -> str:
    """An id no other test run uses."""
    return f"{prefix}{secrets.token_hex(6)}"


def attempt_for(clock: FrozenClock, *, minutes: int = 15) -> Attempt:
    """A new open attempt with a unique reference."""
    now = clock.now()
    return Attempt(
        reference=unique("R"),
        order_string=f"https://vendor.invalid/pay?{secrets.token_hex(4)}",
        opened_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )


def new_payment(clock: FrozenClock, *, order_id: str | None = None, minutes: int = 15) -> Payment:
    """An unsaved PENDING payment with one attempt, for a unique order."""
    return Payment.start(
        order_id=order_id or unique("order-"),
        payer="alice",
        subject="Tea 茶 ☕",
        description="two boxes",
        amount=Money.parse("1000.12"),
        vendor="fake",
        attempt=attempt_for(clock, minutes=minutes),
    )
