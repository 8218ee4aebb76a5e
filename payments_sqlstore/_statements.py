"""The SQL statements of the repository, built once so their compiled forms are cached."""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    Boolean,
    ColumnClause,
    String,
    bindparam,
    false,
    insert,
    literal_column,
    or_,
    select,
    update,
)

from payments_sqlstore.tables import (
    UtcDateTime,
    attempts,
    idempotency_records,
    payments,
    status_changes,
)

# Literals (not bound values) so that PostgreSQL matches the partial indexes.
_INVALID: Final[ColumnClause[str]] = literal_column("'INVALID'", String)
_PENDING: Final[ColumnClause[str]] = literal_column("'PENDING'", String)
_OPEN: Final[ColumnClause[str]] = literal_column("'OPEN'", String)

# Column order matters: rows.payment_from_rows unpacks these rows by position.
_ATTEMPT_COLUMNS: Final = (
    "reference",
    "order_string",
    "opened_at",
    "expires_at",
    "state",
    "vendor_trade_id",
)
_LOAD: Final = (
    select(*payments.c, *(attempts.c[name].label(f"a_{name}") for name in _ATTEMPT_COLUMNS))
    .select_from(payments.outerjoin(attempts, attempts.c.payment_id == payments.c.id))
    .order_by(attempts.c.seq)
)

GET: Final = _LOAD.where(payments.c.id == bindparam("id"))
BY_REFERENCE: Final = _LOAD.where(
    payments.c.id
    == select(attempts.c.payment_id)
    .where(attempts.c.reference == bindparam("reference"))
    .scalar_subquery()
)
FOR_ORDER: Final = _LOAD.where(payments.c.order_id == bindparam("order_id")).where(
    payments.c.status != _INVALID
)
EXISTS: Final = select(payments.c.id).where(payments.c.id == bindparam("id"))
PING: Final = select(payments.c.id).limit(0)  # a round trip that reads no row

INSERT_PAYMENT: Final = insert(payments)
INSERT_ATTEMPT: Final = insert(attempts)
INSERT_RECORD: Final = insert(idempotency_records)
INSERT_CHANGE: Final = insert(status_changes)

UPDATE_PAYMENT: Final = update(payments).where(
    payments.c.id == bindparam("b_id"), payments.c.version == bindparam("b_version")
)
UPDATE_ATTEMPT: Final = update(attempts).where(
    attempts.c.reference == bindparam("b_reference"),
    attempts.c.payment_id == bindparam("b_payment_id"),
)
DELETE_ATTEMPT: Final = (
    attempts.delete()
    .where(attempts.c.reference == bindparam("b_reference"))
    .where(attempts.c.payment_id == bindparam("b_payment_id"))
)

_due: Final = (
    select(attempts.c.reference)
    .join(payments, payments.c.id == attempts.c.payment_id)
    .where(attempts.c.state == _OPEN, payments.c.status == _PENDING)
    .where(
        or_(
            attempts.c.claimed_until.is_(None),
            attempts.c.claimed_until <= bindparam("now", type_=UtcDateTime()),
        )
    )
    .order_by(attempts.c.expires_at, attempts.c.payment_id, attempts.c.reference)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True, of=attempts)  # SQLite: BEGIN IMMEDIATE serializes
)
CLAIM: Final = (
    update(attempts)
    .where(attempts.c.reference.in_(_due.scalar_subquery()))
    .values(claimed_until=bindparam("until", type_=UtcDateTime()))
    .returning(attempts.c.payment_id, attempts.c.reference, attempts.c.expires_at)
)

FIND_RECORD: Final = select(idempotency_records).where(
    idempotency_records.c.payer == bindparam("payer"),
    idempotency_records.c.key == bindparam("key"),
)
PENDING_CHANGES: Final = (
    select(status_changes)
    .where(status_changes.c.done == false())
    .order_by(status_changes.c.id)
    .limit(bindparam("limit"))
)
_claimable_changes: Final = (
    select(status_changes.c.id)
    .where(status_changes.c.done == false())
    .where(
        or_(
            status_changes.c.claimed_until.is_(None),
            status_changes.c.claimed_until <= bindparam("now", type_=UtcDateTime()),
        )
    )
    .order_by(status_changes.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)  # SQLite: BEGIN IMMEDIATE serializes
)
CLAIM_CHANGES: Final = (
    update(status_changes)
    .where(status_changes.c.id.in_(_claimable_changes.scalar_subquery()))
    .values(claimed_until=bindparam("until", type_=UtcDateTime()))
    .returning(*status_changes.c)
)
DELIVERIES: Final = (
    select(status_changes.c.id, status_changes.c.delivered_to, status_changes.c.done)
    .where(status_changes.c.id.in_(bindparam("ids", expanding=True)))
    .with_for_update()
)
MARK_DELIVERED: Final = update(status_changes).where(status_changes.c.id == bindparam("b_id"))
SETTLE_CHANGES: Final = (
    update(status_changes)
    .where(status_changes.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        done=or_(status_changes.c.done, bindparam("done", type_=Boolean())),
        claimed_until=None,
    )
)
