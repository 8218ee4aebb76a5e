"""The refunds of ``InMemoryPaymentRepository``, kept under the repository's lock.

Nothing here locks: every method is called by the repository while it holds its lock,
so that a payment and the refunds saved with it are stored together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from attrs import evolve

from payments_core.errors import ConcurrencyConflict, DuplicateReference, RefundNotFound
from payments_core.refund import Refund, RefundId, RefundStatus
from payments_core.values import IdempotencyClaim, RefundIdempotencyRecord


class RefundBook:
    """Refunds by id, their unique references, idempotency records and sweep claims."""

    def __init__(self) -> None:
        self._refunds: dict[RefundId, Refund] = {}
        self._references: set[str] = set()
        self._idempotency: dict[tuple[str, str], RefundIdempotencyRecord] = {}
        self._claimed_until: dict[RefundId, datetime] = {}

    def check_new(self, refunds: Iterable[Refund], idempotency: IdempotencyClaim | None) -> None:
        """Raise DuplicateReference unless all of ``refunds`` (and the key) can be stored."""
        seen: set[str] = set()
        for refund in refunds:
            if refund.reference in self._references or refund.reference in seen:
                raise DuplicateReference(refund.reference)
            seen.add(refund.reference)
        if idempotency and (idempotency.payer, idempotency.key) in self._idempotency:
            raise DuplicateReference(f"refund idempotency key of {idempotency.payer}")

    def insert(self, refund: Refund, idempotency: IdempotencyClaim | None = None) -> Refund:
        """Store a new refund checked by ``check_new``; it gets the next id and version 1."""
        stored = evolve(refund, id=len(self._refunds) + 1, version=1)
        assert stored.id is not None  # noqa: S101 - set on the line above, for the type checker
        self._refunds[stored.id] = stored
        self._references.add(stored.reference)
        if idempotency:
            self._idempotency[(idempotency.payer, idempotency.key)] = RefundIdempotencyRecord(
                requester=idempotency.payer,
                key=idempotency.key,
                fingerprint=idempotency.fingerprint,
                refund_id=stored.id,
            )
        return stored

    def get(self, refund_id: RefundId) -> Refund:
        """Raises: RefundNotFound."""
        try:
            return self._refunds[refund_id]
        except KeyError:
            raise RefundNotFound(refund_id) from None

    def replace(self, refund: Refund, previous: Refund) -> Refund:
        """Compare-and-set on the version. Raises: RefundNotFound, ConcurrencyConflict."""
        if refund.id is None or refund.id not in self._refunds:
            raise RefundNotFound(refund.id if refund.id is not None else "(unsaved)")
        stored = self._refunds[refund.id]
        if stored.version != previous.version:
            raise ConcurrencyConflict(refund.id, previous.version)
        # what the refund is never changes once stored, as in the SQL store's UPDATE
        saved = evolve(
            refund,
            version=previous.version + 1,
            payment_id=stored.payment_id,
            attempt=stored.attempt,
            reference=stored.reference,
            amount=stored.amount,
            kind=stored.kind,
            created_at=stored.created_at,
        )
        self._refunds[refund.id] = saved
        return saved

    def of_payment(self, payment_id: int) -> Sequence[Refund]:
        """The payment's refunds by id."""
        return [r for _, r in sorted(self._refunds.items()) if r.payment_id == payment_id]

    def in_status(self, status: RefundStatus, *, limit: int, after: RefundId) -> Sequence[Refund]:
        """Up to ``limit`` refunds in ``status`` with an id above ``after``, by id."""
        found = (
            r for rid, r in sorted(self._refunds.items()) if rid > after and r.status is status
        )
        return [r for r, _ in zip(found, range(max(limit, 0)), strict=False)]

    def idempotent(self, requester: str, key: str) -> RefundIdempotencyRecord | None:
        """The record of this requester's key, if any."""
        return self._idempotency.get((requester, key))

    def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> Sequence[Refund]:
        """Claim, until ``now + lease``, up to ``limit`` PENDING refunds not claimed at ``now``."""
        due = [
            refund
            for rid, refund in sorted(self._refunds.items())
            if refund.status is RefundStatus.PENDING and self._claimed_until.get(rid, now) <= now
        ][: max(limit, 0)]
        for refund in due:
            assert refund.id is not None  # noqa: S101 - stored refunds have ids
            self._claimed_until[refund.id] = now + lease
        return due
