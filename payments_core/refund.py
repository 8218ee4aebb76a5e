"""The Refund entity: money going back from one paid attempt, and its own small state machine."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Final

from attrs import evolve, frozen

from payments_core.errors import CurrencyMismatch, InvalidRefundTransition
from payments_core.money import Money
from payments_core.payment import PaymentId

RefundId = int


class RefundStatus(enum.Enum):
    """Where a refund is; ``_ALLOWED`` below is its transition table."""

    PENDING = "PENDING"  # recorded; sent, or to be sent, to the vendor
    SUCCEEDED = "SUCCEEDED"  # the vendor says the money went back
    FAILED = "FAILED"  # the vendor refused it; final


class RefundKind(enum.Enum):
    """Why a refund exists."""

    REQUESTED = "REQUESTED"  # someone asked for it
    DUPLICATE = "DUPLICATE"  # a second paid attempt of a settled payment
    REJECTED = "REJECTED"  # a paid attempt that failed the business checks


_ALLOWED: Final[dict[RefundStatus, frozenset[RefundStatus]]] = {
    RefundStatus.PENDING: frozenset({RefundStatus.SUCCEEDED, RefundStatus.FAILED}),
    RefundStatus.SUCCEEDED: frozenset(),
    RefundStatus.FAILED: frozenset(),
}


@frozen(kw_only=True)
class Refund:
    """One refund of one paid attempt, under its own forever-unique vendor reference.

    ``acknowledged`` is whether the vendor has answered a refund call for it at least
    once: a PENDING refund the vendor never acknowledged is sent again (with the same
    reference, so the vendor pays out once); an acknowledged one is asked about.
    """

    id: RefundId | None
    payment_id: PaymentId
    attempt: str  # the reference of the paid attempt the money returns from
    reference: str
    amount: Money
    reason: str | None
    kind: RefundKind
    status: RefundStatus
    created_at: datetime
    updated_at: datetime
    succeeded_at: datetime | None = None
    failure: str | None = None
    acknowledged: bool = False
    version: int = 0

    @classmethod
    def start(
        cls,
        *,
        payment_id: PaymentId,
        attempt: str,
        reference: str,
        amount: Money,
        reason: str | None,
        kind: RefundKind,
        at: datetime,
    ) -> Refund:
        """A new PENDING refund; the repository assigns the id."""
        return cls(
            id=None,
            payment_id=payment_id,
            attempt=attempt,
            reference=reference,
            amount=amount,
            reason=reason,
            kind=kind,
            status=RefundStatus.PENDING,
            created_at=at,
            updated_at=at,
        )

    @property
    def counts(self) -> bool:
        """Whether its amount is taken from what the attempt can still refund."""
        return self.status is not RefundStatus.FAILED

    def acknowledge(self, *, at: datetime) -> Refund:
        """The vendor has the refund; from now on it is asked about, not sent."""
        return self if self.acknowledged else evolve(self, acknowledged=True, updated_at=at)

    def succeed(self, *, at: datetime) -> Refund:
        """SUCCEEDED: the vendor says the money went back. Raises: InvalidRefundTransition."""
        moved = self._move(RefundStatus.SUCCEEDED, at=at)
        return evolve(moved, succeeded_at=at, acknowledged=True)

    def fail(self, failure: str, *, at: datetime) -> Refund:
        """FAILED with the vendor's reason; final. Raises: InvalidRefundTransition."""
        return evolve(self._move(RefundStatus.FAILED, at=at), failure=failure)

    def _move(self, target: RefundStatus, *, at: datetime) -> Refund:
        if target not in _ALLOWED[self.status]:
            raise InvalidRefundTransition(self.id, self.status.value, target.value)
        return evolve(self, status=target, updated_at=at)


def refundable(paid: Money, refunds: Iterable[Refund], attempt: str) -> Money:
    """What can still be refunded of ``attempt``, which was paid ``paid``.

    Every refund of that attempt counts except the FAILED ones. Never negative.

    Raises:
        CurrencyMismatch: a refund is in another currency than ``paid``.
    """
    taken = 0
    for refund in refunds:
        if refund.attempt == attempt and refund.counts:
            if refund.amount.currency != paid.currency:
                raise CurrencyMismatch(paid.currency, refund.amount.currency)
            taken += refund.amount.minor
    return Money(max(paid.minor - taken, 0), paid.currency)
