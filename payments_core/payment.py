"""The Payment entity, its checkout attempts and the one transition table."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Final

from attrs import evolve, field, frozen

from payments_core.errors import InvalidTransition
from payments_core.money import Money

PaymentId = int


class PaymentStatus(enum.Enum):
    """Where a payment is in its life; ``_ALLOWED`` below is the transition table."""

    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    TIMEOUT = "TIMEOUT"
    INVALID = "INVALID"


_ALLOWED: Final[dict[PaymentStatus, frozenset[PaymentStatus]]] = {
    PaymentStatus.PENDING: frozenset(
        {
            PaymentStatus.PENDING,
            PaymentStatus.CONFIRMED,
            PaymentStatus.TIMEOUT,
            PaymentStatus.INVALID,
        }
    ),
    PaymentStatus.TIMEOUT: frozenset(
        {PaymentStatus.PENDING, PaymentStatus.CONFIRMED, PaymentStatus.INVALID}
    ),
    PaymentStatus.CONFIRMED: frozenset(),
    PaymentStatus.INVALID: frozenset(),
}
TERMINAL: Final = frozenset(s for s, targets in _ALLOWED.items() if not targets)


def can_transition(current: PaymentStatus, target: PaymentStatus) -> bool:
    """Whether the transition table allows going from ``current`` to ``target``."""
    return target in _ALLOWED[current]


class AttemptState(enum.Enum):
    """What is known of one checkout attempt at the vendor."""

    OPEN = "OPEN"  # issued; the buyer may still pay it
    PAID = "PAID"  # paid and accepted: this attempt confirmed the payment
    CLOSED = "CLOSED"  # closed at the vendor unpaid, or superseded by a retry
    REJECTED = "REJECTED"  # paid but failed the business checks: refund it
    DUPLICATE = "DUPLICATE"  # paid after another attempt had confirmed: refund it


REFUND_NEEDED: Final = frozenset({AttemptState.REJECTED, AttemptState.DUPLICATE})


@frozen(kw_only=True)
class Attempt:
    """One checkout at the vendor, with its own forever-unique reference."""

    reference: str
    order_string: str
    opened_at: datetime
    expires_at: datetime
    state: AttemptState = AttemptState.OPEN
    vendor_trade_id: str | None = None
    amount_paid: Money | None = None  # what the vendor reported paid, once settled paid

    def is_open(self) -> bool:
        """Whether the buyer may still pay this attempt as far as we know."""
        return self.state is AttemptState.OPEN


def _attempts(attempts: Iterable[Attempt]) -> tuple[Attempt, ...]:
    return tuple(attempts)


@frozen(kw_only=True)
class Payment:
    """A payment for one order, made through one vendor in one or more attempts."""

    id: PaymentId | None
    order_id: str
    payer: str
    subject: str
    description: str | None
    amount: Money
    vendor: str
    status: PaymentStatus
    created_at: datetime
    updated_at: datetime
    attempts: tuple[Attempt, ...] = field(converter=_attempts)
    confirmed_at: datetime | None = None
    vendor_trade_id: str | None = None
    valid: bool = False
    version: int = 0

    @classmethod
    def start(
        cls,
        *,
        order_id: str,
        payer: str,
        subject: str,
        description: str | None,
        amount: Money,
        vendor: str,
        attempt: Attempt,
    ) -> Payment:
        """A new PENDING payment with its first open attempt; the repository assigns the id."""
        return cls(
            id=None,
            order_id=order_id,
            payer=payer,
            subject=subject,
            description=description,
            amount=amount,
            vendor=vendor,
            status=PaymentStatus.PENDING,
            created_at=attempt.opened_at,
            updated_at=attempt.opened_at,
            attempts=(attempt,),
        )

    @property
    def order_string(self) -> str | None:
        """The order string of the open attempt, or None when nothing is payable.

        A CONFIRMED or INVALID payment offers none even if an attempt is still open
        (two attempts raced): paying it would only be a charge to refund.
        """
        current = self.open_attempt()
        return current.order_string if current and self.status not in TERMINAL else None

    def open_attempt(self) -> Attempt | None:
        """The attempt a buyer may pay now, if any (the newest open one)."""
        return next((a for a in reversed(self.attempts) if a.is_open()), None)

    def attempt(self, reference: str) -> Attempt | None:
        """The attempt with this vendor reference, if it belongs to this payment."""
        return next((a for a in self.attempts if a.reference == reference), None)

    def transition(self, target: PaymentStatus, *, at: datetime) -> Payment:
        """The payment in ``target`` status.

        Raises:
            InvalidTransition: the transition table does not allow it.
        """
        if not can_transition(self.status, target):
            raise InvalidTransition(self.id, self.status, target)
        return evolve(self, status=target, updated_at=at)

    def with_attempt(self, attempt: Attempt, *, at: datetime) -> Payment:
        """The payment with ``attempt`` replacing the one of the same reference, or appended."""
        others = [a for a in self.attempts if a.reference != attempt.reference]
        if len(others) == len(self.attempts):
            return evolve(self, attempts=(*self.attempts, attempt), updated_at=at)
        merged = tuple(attempt if a.reference == attempt.reference else a for a in self.attempts)
        return evolve(self, attempts=merged, updated_at=at)

    def confirm(
        self, reference: str, *, trade_id: str | None, at: datetime, paid: Money | None = None
    ) -> Payment:
        """CONFIRMED through the paid attempt ``reference``; ``confirmed_at`` is set once."""
        confirmed = self.transition(PaymentStatus.CONFIRMED, at=at)
        return evolve(
            confirmed._settle(reference, AttemptState.PAID, trade_id, at=at, paid=paid),
            confirmed_at=at,
            vendor_trade_id=trade_id,
            valid=True,
        )

    def reject(
        self, reference: str, *, trade_id: str | None, at: datetime, paid: Money | None = None
    ) -> Payment:
        """INVALID: the vendor reports a paid attempt that failed the business checks."""
        invalid = self.transition(PaymentStatus.INVALID, at=at)
        return evolve(
            invalid._settle(reference, AttemptState.REJECTED, trade_id, at=at, paid=paid),
            vendor_trade_id=trade_id,
        )

    def flag_refund(
        self, reference: str, *, trade_id: str | None, at: datetime, paid: Money | None = None
    ) -> Payment:
        """Record a paid attempt of an already settled payment as a duplicate charge."""
        return self._settle(reference, AttemptState.DUPLICATE, trade_id, at=at, paid=paid)

    def close_attempt(self, reference: str, *, at: datetime) -> Payment:
        """The attempt ``reference`` marked CLOSED (unpaid, no longer payable)."""
        return self._settle(reference, AttemptState.CLOSED, None, at=at)

    def _settle(
        self,
        reference: str,
        state: AttemptState,
        trade_id: str | None,
        *,
        at: datetime,
        paid: Money | None = None,
    ) -> Payment:
        current = self.attempt(reference)
        if current is None:
            raise KeyError(reference)
        changed = evolve(
            current,
            state=state,
            vendor_trade_id=trade_id or current.vendor_trade_id,
            amount_paid=paid or current.amount_paid,
        )
        return self.with_attempt(changed, at=at)
