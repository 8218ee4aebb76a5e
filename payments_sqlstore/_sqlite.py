"""The SQLite hot path: the repository's statements run on the pooled sqlite3 connection.

SQLite answers a statement in microseconds; SQLAlchemy's ``Connection`` spent several
times that around each one (a notification made four: a read, then two updates and an
insert), and the write lock was held all the while. The statements are the same Core
statements as elsewhere, compiled once for SQLite with their parameter order and each
column type's own converters, so what is stored is exactly what SQLAlchemy would store.
The engine's pool still owns every connection.

Each write is one transaction: Python's sqlite3 opens it with ``BEGIN IMMEDIATE`` (the
engine's ``isolation_level``) at the first statement, under the repository's writer lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from attrs import evolve
from sqlalchemy import Engine, Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from payments_core.errors import DuplicateReference, DuplicateTradeId
from payments_core.payment import Payment
from payments_core.refund import Refund
from payments_core.values import ChangeSource, IdempotencyClaim
from payments_sqlstore._oneshot import LiveOrderTaken
from payments_sqlstore._statements import Statements
from payments_sqlstore.engine import store_unavailable, unavailable
from payments_sqlstore.rows import (
    attempt_changes,
    attempt_to_row,
    change_to_row,
    claim_to_row,
    payment_to_row,
    refund_change_to_row,
    refund_to_row,
)

Rows = list[tuple[Any, ...]]
Convert = Callable[[Any], Any] | None


class _Compiled:
    """One statement compiled for SQLite: its text and how to turn named values into its
    positional parameters (``keys``: the columns an INSERT or UPDATE sets)."""

    def __init__(self, statement: Any, engine: Engine, keys: Sequence[str] = ()) -> None:
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) or None)
        self.text: str = compiled.string
        self._order: list[tuple[str, Convert]] = [
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in compiled.positiontup or ()
        ]
        # Values SQLAlchemy's compiler adds itself (SQLite spells a LIMIT "LIMIT ? OFFSET ?").
        self._implied = {
            name: compiled.binds[name].value
            for name in compiled.positiontup or ()
            if name.startswith("param_")
        }
        selected = statement.selected_columns if isinstance(statement, Select) else ()
        results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in selected]
        self._results: list[tuple[int, Convert]] | None = (
            list(enumerate(results)) if any(results) else None
        )

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        if self._implied:
            values = self._implied | dict(values)
        return tuple(
            convert(values[name]) if convert else values[name] for name, convert in self._order
        )

    def rows(self, fetched: Sequence[Sequence[Any]]) -> Rows:
        if self._results is None:  # writes, and reads of plain columns (EXISTS)
            return [tuple(row) for row in fetched]
        pairs = self._results
        return [
            tuple(convert(row[i]) if convert else row[i] for i, convert in pairs) for row in fetched
        ]


class SqliteStatements:
    """Reads and writes of one payment on raw sqlite3 connections from ``engine``'s pool."""

    def __init__(
        self, engine: Engine, writer_lock: AbstractContextManager[object], sql: Statements
    ) -> None:
        self._engine = engine
        self._lock = writer_lock
        self._reads: dict[Select[Any], _Compiled] = {}
        tables = sql.tables
        # What SQLite's unique errors name: "UNIQUE constraint failed: payments.order_id"
        self._live_order = f"{tables.payments.name}.order_id"
        self._trade_id = f"{tables.attempts.name}.vendor_trade_id"
        payment_keys = [c.name for c in tables.payments.c if c.name != "id"]
        attempt_keys = [c.name for c in tables.attempts.c if c.name != "claimed_until"]
        self._insert_payment = _Compiled(sql.insert_payment, engine, payment_keys)
        self._insert_attempt = _Compiled(sql.insert_attempt, engine, attempt_keys)
        self._insert_record = _Compiled(
            sql.insert_record, engine, [c.name for c in tables.idempotency_records.c]
        )
        change_keys = ["payment_id", "previous_status", "current_status", "changed_at", "source"]
        self._insert_change = _Compiled(sql.insert_change, engine, change_keys)
        self._update_payment = _Compiled(sql.update_payment, engine, payment_keys)
        self._update_attempt = _Compiled(sql.update_attempt, engine, attempt_keys)
        self._delete_attempt = _Compiled(sql.delete_attempt, engine)
        refund_keys = [c.name for c in tables.refunds.c if c.name not in ("id", "claimed_until")]
        self._insert_refund = _Compiled(sql.insert_refund, engine, refund_keys)
        self._insert_refund_change = _Compiled(
            sql.insert_change, engine, [*change_keys, "refund_id"]
        )

    def fetch(self, statement: Select[Any], params: Mapping[str, Any]) -> Rows:
        """Every row of a read-only ``statement``, converted as SQLAlchemy would."""
        compiled = self._reads.get(statement)
        if compiled is None:
            compiled = self._reads[statement] = _Compiled(statement, self._engine)
        with self._connection() as conn:
            return compiled.rows(conn.execute(compiled.text, compiled.params(params)).fetchall())

    def insert(
        self, payment: Payment, record: IdempotencyClaim | None, source: ChangeSource
    ) -> int:
        """Insert ``payment`` (version set), its attempts, ``record`` and the status change of its creation.

        Returns the new id. Raises: LiveOrderTaken, DuplicateReference, DuplicateTradeId,
        StoreUnavailable.
        """
        with self._transaction() as cursor:
            try:
                self._run(cursor, self._insert_payment, payment_to_row(payment))
            except sqlite3.IntegrityError as exc:
                if self._live_order in str(exc):
                    raise LiveOrderTaken from exc
                raise
            new_id = cursor.lastrowid
            assert new_id is not None  # noqa: S101 - an INSERT always sets it
            stored = evolve(payment, id=new_id)
            for seq, attempt in enumerate(stored.attempts):
                row = attempt_to_row(new_id, seq, attempt, payment.vendor)
                self._write_attempt(cursor, self._insert_attempt, row)
            if record is not None:
                try:
                    row = claim_to_row(record) | {"payment_id": new_id}
                    self._run(cursor, self._insert_record, row)
                except sqlite3.IntegrityError as exc:
                    raise DuplicateReference(f"idempotency key {record.key!r}") from exc
            self._run(cursor, self._insert_change, change_to_row(stored, None, source))
        return new_id

    def save(
        self,
        stored: Payment,
        previous: Payment,
        source: ChangeSource | None,
        refunds: Sequence[Refund] = (),
    ) -> bool:
        """Write ``stored`` over ``previous`` if its version still matches; False if not.

        The new ``refunds`` (version set) are inserted with their creations in the same
        transaction. Raises: DuplicateReference, DuplicateTradeId, StoreUnavailable.
        """
        keys = {"b_id": previous.id, "b_version": previous.version}
        with self._transaction() as cursor:
            self._run(cursor, self._update_payment, payment_to_row(stored) | keys)
            if cursor.rowcount != 1:
                return False  # nothing written: the transaction commits empty
            for kind, row in attempt_changes(stored, previous):
                mine = {"b_reference": row["reference"], "b_payment_id": previous.id}
                if kind == "insert":
                    self._write_attempt(cursor, self._insert_attempt, row)
                elif kind == "update":
                    self._write_attempt(cursor, self._update_attempt, row | mine)
                else:
                    self._run(cursor, self._delete_attempt, mine)
            if stored.status is not previous.status:
                row = change_to_row(stored, previous.status, source)
                self._run(cursor, self._insert_change, row)
            for refund in refunds:
                self._write_refund(cursor, refund)
        return True

    def _write_refund(self, cursor: sqlite3.Cursor, refund: Refund) -> None:
        try:
            self._run(cursor, self._insert_refund, refund_to_row(refund))
        except sqlite3.IntegrityError as exc:  # its reference: the payment is there
            raise DuplicateReference(refund.reference) from exc
        stored = evolve(refund, id=cursor.lastrowid)
        self._run(cursor, self._insert_refund_change, refund_change_to_row(stored, None))

    def _write_attempt(
        self, cursor: sqlite3.Cursor, compiled: _Compiled, row: dict[str, Any]
    ) -> None:
        """Insert or update one attempt row; a unique index's refusal as the domain error."""
        try:
            self._run(cursor, compiled, row)
        except sqlite3.IntegrityError as exc:
            if self._trade_id in str(exc):
                raise DuplicateTradeId(row["vendor"], row["vendor_trade_id"]) from exc
            raise DuplicateReference(row["reference"]) from exc

    @staticmethod
    def _run(cursor: sqlite3.Cursor, compiled: _Compiled, values: Mapping[str, Any]) -> None:
        cursor.execute(compiled.text, compiled.params(values))

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        with self._lock, self._connection() as conn:
            cursor = conn.cursor()
            try:
                yield cursor
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                cursor.close()

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            pooled = self._engine.raw_connection()
        except (DBAPIError, PoolTimeout) as exc:
            raise unavailable(exc) or exc from exc
        try:
            yield pooled.driver_connection  # type: ignore[misc]  # None only once closed
        except sqlite3.OperationalError as exc:  # locked, busy, disk I/O: the store's fault
            raise store_unavailable(exc) from exc
        finally:
            pooled.close()
