"""PostgreSQL writes as one statement each: a payment and its rows in one round trip.

A write transaction through SQLAlchemy costs a round trip per statement plus BEGIN and
COMMIT: five for a confirming save, where one would do. PostgreSQL runs data-modifying
CTEs (``WITH p AS (UPDATE ... RETURNING id), a AS (UPDATE ...) ...``) as one statement,
atomically, so each write here is one autocommit statement. Children join on ``p``: when
the compare-and-set on ``payments`` matches no row, nothing else is written either.

The SQL text depends only on the write's shape (how many attempts are inserted, updated or
deleted, with or without an idempotency record or status change), so each shape is built
once and psycopg prepares it on the server after a few uses. Values travel as bound
parameters, each cast to its column's type.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final

from sqlalchemy import Column, Table
from sqlalchemy.dialects import postgresql

from payments_core.errors import DuplicateReference, DuplicateTradeId
from payments_core.payment import Payment
from payments_core.refund import Refund
from payments_core.values import ChangeSource, IdempotencyClaim
from payments_sqlstore.rows import (
    attempt_changes,
    attempt_to_row,
    change_to_row,
    claim_to_row,
    payment_to_row,
    refund_to_row,
)
from payments_sqlstore.tables import Tables, tables_for

_DIALECT: Final = postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]  # unannotated upstream
_quote = _DIALECT.identifier_preparer.quote
_ATTEMPT_KEYS: Final = frozenset({"reference", "payment_id", "vendor"})  # never updated
_CHANGE_COLUMNS: Final = ("previous_status", "current_status", "changed_at", "source")
_SHAPES: Final = 256  # distinct statement texts kept; real payments use a handful


Statement = tuple[str, dict[str, Any]]


class LiveOrderTaken(Exception):
    """The order already has a live payment (its unique index refused the insert)."""


def insert(
    tables: Tables, payment: Payment, record: IdempotencyClaim | None, source: ChangeSource
) -> Statement:
    """Insert ``payment`` (version set), its attempts, ``record`` and the status change of its creation.

    The statement returns the new id.
    """
    params = _prefixed("p", payment_to_row(payment))
    for n, attempt in enumerate(payment.attempts):
        params |= _prefixed(f"a{n}", attempt_to_row(0, n, attempt, payment.vendor))
    if record is not None:
        params |= _prefixed("r", claim_to_row(record))
    params |= _prefixed("c", change_to_row(payment, None, source))
    return _insert_sql(tables.prefix, len(payment.attempts), record is not None), params


def save(
    tables: Tables,
    stored: Payment,
    previous: Payment,
    source: ChangeSource | None,
    refunds: Sequence[Refund] = (),
) -> Statement:
    """Write ``stored`` over ``previous`` if its version still matches, and insert the new
    ``refunds`` (version set) with their creations.

    The statement returns the payment's id, or no row when the version did not match.
    """
    params = _prefixed("p", payment_to_row(stored))
    params |= {"b_id": previous.id, "b_version": previous.version}
    shape: list[str] = []
    for kind, row in attempt_changes(stored, previous):
        name = f"{kind[0]}{len(shape)}"  # i0, u1, d2 ...
        params |= _prefixed(name, row)
        shape.append(kind[0])
    changed = stored.status is not previous.status
    if changed:
        params |= _prefixed("c", change_to_row(stored, previous.status, source))
    for n, refund in enumerate(refunds):
        params |= _prefixed(f"f{n}", refund_to_row(refund))
    return _save_sql(tables.prefix, tuple(shape), changed, len(refunds)), params


def refusal(
    tables: Tables,
    constraint: str,
    detail: str,
    payment: Payment,
    record: IdempotencyClaim | None,
    refunds: Sequence[Refund] = (),
) -> Exception | None:
    """The domain error for a unique ``constraint`` that refused a write of ``payment``
    (and of the ``refunds`` saved with it)."""
    references = [attempt.reference for attempt in payment.attempts]
    if constraint == tables.refund_reference_key and refunds:
        taken = [refund.reference for refund in refunds]
        return DuplicateReference(next((r for r in taken if r in detail), taken[0]))
    if constraint == tables.live_order_index:
        return LiveOrderTaken()
    if constraint == tables.trade_id_index:
        return trade_id_taken(payment, detail)
    if constraint == _constraint_of(tables.idempotency_records) and record is not None:
        return DuplicateReference(f"idempotency key {record.key!r}")
    if constraint == _constraint_of(tables.attempts) and references:
        return DuplicateReference(next((r for r in references if r in detail), references[0]))
    return None


def trade_id_taken(payment: Payment, detail: str) -> DuplicateTradeId:
    """The error for ``payment``'s attempt whose trade id the database ``detail`` names."""
    trades = [a.vendor_trade_id for a in payment.attempts if a.vendor_trade_id]
    return DuplicateTradeId(payment.vendor, next((t for t in trades if t in detail), "?"))


def _prefixed(prefix: str, row: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}_{name}": _utc(value) for name, value in row.items()}


def _utc(value: Any) -> Any:
    # What UtcDateTime does for SQLAlchemy's statements, which this raw SQL bypasses.
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored")
        return value.astimezone(UTC)
    return value


def _constraint_of(table: Table) -> str:
    return str(table.primary_key.name)


def _value(prefix: str, column: Column[Any]) -> str:
    return f"CAST(%({prefix}_{column.name})s AS {column.type.compile(dialect=_DIALECT)})"


def _columns(table: Table, names: Sequence[str]) -> list[Column[Any]]:
    return [table.c[name] for name in names]


def _payment_columns(payments: Table) -> list[Column[Any]]:
    return [column for column in payments.c if column.name != "id"]


def _attempt_columns(attempts: Table) -> list[Column[Any]]:
    return [column for column in attempts.c if column.name not in ("payment_id", "claimed_until")]


def _child_insert(name: str, table: Table, prefix: str, columns: Sequence[Column[Any]]) -> str:
    """``name AS (INSERT INTO table (payment_id, ...) SELECT p.id, ... FROM p)``."""
    names = ", ".join(_quote(c.name) for c in columns)
    values = ", ".join(_value(prefix, c) for c in columns)
    return (
        f"{name} AS (INSERT INTO {_quote(table.name)} (payment_id, {names})"
        f" SELECT p.id, {values} FROM p)"
    )


@lru_cache(maxsize=_SHAPES)
def _insert_sql(prefix: str, attempt_count: int, with_record: bool) -> str:
    tables = tables_for(prefix)
    payments, attempts, records = tables.payments, tables.attempts, tables.idempotency_records
    columns = _payment_columns(payments)
    names = ", ".join(_quote(c.name) for c in columns)
    values = ", ".join(_value("p", c) for c in columns)
    parts = [f"p AS (INSERT INTO {_quote(payments.name)} ({names}) VALUES ({values}) RETURNING id)"]
    parts += [
        _child_insert(f"a{n}", attempts, f"a{n}", _attempt_columns(attempts))
        for n in range(attempt_count)
    ]
    if with_record:
        record_columns = [c for c in records.c if c.name != "payment_id"]
        parts.append(_child_insert("r", records, "r", record_columns))
    parts.append(_change_insert(tables.status_changes))
    return "WITH " + ",\n".join(parts) + "\nSELECT id FROM p"


@lru_cache(maxsize=_SHAPES)
def _save_sql(prefix: str, shape: tuple[str, ...], with_change: bool, refund_count: int) -> str:
    tables = tables_for(prefix)
    payments, attempts = tables.payments, tables.attempts
    columns = _payment_columns(payments)
    sets = ", ".join(f"{_quote(c.name)} = {_value('p', c)}" for c in columns)
    parts = [
        f"p AS (UPDATE {_quote(payments.name)} SET {sets}"
        " WHERE id = %(b_id)s AND version = %(b_version)s RETURNING id)"
    ]
    mine = "payment_id = (SELECT id FROM p)"
    for n, kind in enumerate(shape):
        name = f"{kind}{n}"
        if kind == "i":
            parts.append(_child_insert(name, attempts, name, _attempt_columns(attempts)))
        elif kind == "u":
            changes = [c for c in _attempt_columns(attempts) if c.name not in _ATTEMPT_KEYS]
            sets = ", ".join(f"{_quote(c.name)} = {_value(name, c)}" for c in changes)
            parts.append(
                f"{name} AS (UPDATE {_quote(attempts.name)} SET {sets}"
                f" WHERE reference = %({name}_reference)s AND {mine})"
            )
        else:
            parts.append(
                f"{name} AS (DELETE FROM {_quote(attempts.name)}"
                f" WHERE reference = %({name}_reference)s AND {mine})"
            )
    if with_change:
        parts.append(_change_insert(tables.status_changes))
    parts += _refund_inserts(tables, refund_count)
    return "WITH " + ",\n".join(parts) + "\nSELECT id FROM p"


def _refund_inserts(tables: Tables, count: int) -> list[str]:
    """Each new refund ``fN`` joined to ``p``, and ``gN``, the outbox row of its creation."""
    refunds, changes = tables.refunds, tables.status_changes
    columns = [c for c in refunds.c if c.name not in ("id", "payment_id", "claimed_until")]
    parts = []
    for n in range(count):
        name = f"f{n}"
        insert = _child_insert(name, refunds, name, columns)
        parts.append(f"{insert[:-1]} RETURNING id, payment_id)")
        status = _value(name, refunds.c.status)
        at = _value(name, refunds.c.updated_at)
        parts.append(
            f"g{n} AS (INSERT INTO {_quote(changes.name)}"
            " (payment_id, refund_id, previous_status, current_status, changed_at)"
            f" SELECT payment_id, id, NULL, {status}, {at} FROM {name})"
        )
    return parts


def _change_insert(status_changes: Table) -> str:
    return _child_insert("c", status_changes, "c", _columns(status_changes, _CHANGE_COLUMNS))
