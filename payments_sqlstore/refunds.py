"""``SqlRefunds``: the refunds half of ``SqlPaymentRepository`` (the ``Refunds`` port).

Refunds are written far less often than payments are read, so they go through
SQLAlchemy's ``Connection`` rather than the drivers' hot paths (``_sqlite``,
``_postgres``); only the refunds saved with a payment ride on its statement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from typing import Any

from attrs import evolve
from sqlalchemy import Connection, Executable, Row
from sqlalchemy.exc import IntegrityError

from payments_core.errors import (
    ConcurrencyConflict,
    DuplicateReference,
    PaymentNotFound,
    RefundNotFound,
)
from payments_core.payment import PaymentId
from payments_core.refund import Refund, RefundId, RefundStatus
from payments_core.values import IdempotencyClaim, RefundIdempotencyRecord
from payments_sqlstore._statements import REFUND_CHANGES, Statements
from payments_sqlstore.rows import (
    refund_change_to_row,
    refund_from_row,
    refund_record_from_row,
    refund_to_row,
)

Read = Callable[[Executable, Mapping[str, Any]], Sequence[Row[Any]]]
Write = Callable[[], AbstractContextManager[Connection]]


class SqlRefunds:
    """Refunds, their idempotency records and their changes, each write one transaction.

    ``writing`` opens a write transaction whose database failures are
    ``StoreUnavailable``; ``read`` runs one read statement the same way.
    """

    def __init__(self, sql: Statements, writing: Write, read: Read) -> None:
        self._sql = sql
        self._writing = writing
        self._read = read

    def add_refund(self, refund: Refund, *, idempotency: IdempotencyClaim | None = None) -> Refund:
        """Store a new refund, its idempotency record and its creation, atomically."""
        stored = evolve(refund, id=None, version=1)
        with self._refused(stored, idempotency), self._writing() as conn:
            new_id = conn.execute(
                self._sql.insert_refund, refund_to_row(stored)
            ).inserted_primary_key
            assert new_id is not None  # noqa: S101 - an INSERT of one row has its key
            stored = evolve(stored, id=new_id[0])
            if idempotency is not None:
                record = {
                    "requester": idempotency.payer,
                    "key": idempotency.key,
                    "fingerprint": idempotency.fingerprint,
                    "refund_id": stored.id,
                }
                conn.execute(self._sql.insert_refund_record, record)
            conn.execute(self._sql.insert_change, refund_change_to_row(stored, None))
        return stored

    def get_refund(self, refund_id: RefundId) -> Refund:
        """The refund ``refund_id``. Raises: RefundNotFound, StoreUnavailable."""
        rows = self._read(self._sql.get_refund, {"id": refund_id})
        if not rows:
            raise RefundNotFound(refund_id)
        return refund_from_row(rows[0])

    def refunds_for(self, payment_id: PaymentId) -> Sequence[Refund]:
        """The payment's refunds by id."""
        return [
            refund_from_row(r)
            for r in self._read(self._sql.refunds_for, {"payment_id": payment_id})
        ]

    def refunds_in(
        self, status: RefundStatus, *, limit: int, after: RefundId = 0
    ) -> Sequence[Refund]:
        """Up to ``limit`` refunds in ``status`` with an id above ``after``, by id."""
        if limit <= 0:
            return []
        params = {"status": status.value, "after": after, "limit": limit}
        return [refund_from_row(r) for r in self._read(self._sql.refunds_in, params)]

    def save_refund(self, refund: Refund, *, previous: Refund) -> Refund:
        """Compare-and-set ``refund`` over ``previous``; record its change of status if any."""
        if previous.id is None:
            raise RefundNotFound("(unsaved)")
        if refund.id not in (None, previous.id):
            raise ValueError(f"cannot save refund {refund.id} over refund {previous.id}")
        row = refund_to_row(evolve(refund, version=previous.version + 1))
        values = {name: row[name] for name in REFUND_CHANGES}
        values |= {"b_id": previous.id, "b_version": previous.version}
        with self._writing() as conn:
            if conn.execute(self._sql.update_refund, values).rowcount != 1:
                stored = conn.execute(self._sql.get_refund, {"id": previous.id}).first()
                if stored is None:
                    raise RefundNotFound(previous.id)
                raise ConcurrencyConflict(previous.id, previous.version)
            saved = refund_from_row(conn.execute(self._sql.get_refund, {"id": previous.id}).one())
            if saved.status is not previous.status:
                conn.execute(self._sql.insert_change, refund_change_to_row(saved, previous.status))
        return saved

    def find_idempotent_refund(self, requester: str, key: str) -> RefundIdempotencyRecord | None:
        """The record of ``key`` used by ``requester`` for a refund, if any."""
        rows = self._read(self._sql.find_refund_record, {"requester": requester, "key": key})
        return refund_record_from_row(rows[0]) if rows else None

    def claim_due_refunds(self, now: datetime, *, limit: int, lease: timedelta) -> Sequence[Refund]:
        """Lease up to ``limit`` PENDING refunds not leased at ``now``, oldest first."""
        if limit <= 0:
            return []
        params = {"now": now, "until": now + lease, "limit": limit}
        with self._writing() as conn:
            rows = list(conn.execute(self._sql.claim_refunds, params).all())
        return sorted((refund_from_row(row) for row in rows), key=lambda r: r.id or 0)

    @contextmanager
    def _refused(self, refund: Refund, idempotency: IdempotencyClaim | None) -> Iterator[None]:
        """A constraint's refusal of ``refund`` as the port's error."""
        try:
            yield
        except IntegrityError as exc:
            if not self._read(self._sql.exists, {"id": refund.payment_id}):
                raise PaymentNotFound(refund.payment_id) from exc
            taken = self._read(self._sql.find_refund_record, _key(idempotency))
            if idempotency is not None and taken:
                raise DuplicateReference(f"refund idempotency key {idempotency.key!r}") from exc
            raise DuplicateReference(refund.reference) from exc


def _key(idempotency: IdempotencyClaim | None) -> dict[str, str]:
    if idempotency is None:
        return {"requester": "", "key": ""}
    return {"requester": idempotency.payer, "key": idempotency.key}
