"""The PostgreSQL hot path: one autocommit statement on a pooled psycopg connection.

A request reads one payment and writes it back at most once. Through SQLAlchemy's
``Connection`` each of those costs more Python than the round trip itself (a third of a
notification's CPU, measured with py-spy under ``bench/http.py``), so these statements
take a connection from the engine's own pool and run on psycopg directly. The pool still
owns every connection: its size, timeouts, recycling and invalidation are the engine's.

Errors are translated as ``engine.store_errors`` does for SQLAlchemy's: an unreachable,
timed-out or locked database is ``StoreUnavailable``, and a connection found broken is
dropped from the pool (a read is tried once more on a fresh one).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

import psycopg
from sqlalchemy import Engine, Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from payments_core.errors import StoreUnavailable
from payments_core.payment import Payment
from payments_core.refund import Refund
from payments_core.values import ChangeSource, IdempotencyClaim
from payments_sqlstore import _oneshot
from payments_sqlstore._oneshot import Statement
from payments_sqlstore.engine import store_unavailable, unavailable
from payments_sqlstore.tables import Tables

Rows = list[tuple[Any, ...]]
_UNAVAILABLE: Final = (psycopg.OperationalError, psycopg.InterfaceError)


class PostgresStatements:
    """Runs single statements in autocommit mode on the connections of ``engine``'s pool."""

    def __init__(self, engine: Engine, tables: Tables) -> None:
        self._engine = engine
        self._tables = tables
        self._texts: dict[Select[Any], str] = {}

    def fetch(self, statement: Select[Any], params: Mapping[str, Any]) -> Rows:
        """Every row of a read-only ``statement``, tried twice if a connection was broken."""
        text = self._text(statement)
        try:
            return self._fetch(text, params)
        except _Broken:
            try:
                return self._fetch(text, params)
            except _Broken as again:
                raise again.error from again.__cause__

    def insert(
        self, payment: Payment, record: IdempotencyClaim | None, source: ChangeSource
    ) -> int:
        """Insert ``payment`` (version set), its attempts, ``record`` and the status change of its creation.

        Returns the new id. Raises: LiveOrderTaken, DuplicateReference, StoreUnavailable.
        """
        statement = _oneshot.insert(self._tables, payment, record, source)
        [(new_id,)] = self._write(statement, payment, record)
        return int(new_id)

    def save(
        self,
        stored: Payment,
        previous: Payment,
        source: ChangeSource | None,
        refunds: Sequence[Refund] = (),
    ) -> bool:
        """Write ``stored`` over ``previous`` if its version still matches; False if not.

        The new ``refunds`` (version set) are inserted with their creations in the same
        statement. Raises: DuplicateReference, DuplicateTradeId, StoreUnavailable.
        """
        statement = _oneshot.save(self._tables, stored, previous, source, refunds)
        return bool(self._write(statement, stored, None, refunds))

    def _write(
        self,
        statement: Statement,
        payment: Payment,
        record: IdempotencyClaim | None,
        refunds: Sequence[Refund] = (),
    ) -> Rows:
        text, params = statement
        try:
            return self._fetch(text, params)
        except _Broken as broken:
            raise broken.error from broken.__cause__
        except psycopg.IntegrityError as exc:
            constraint, detail = exc.diag.constraint_name or "", exc.diag.message_detail or ""
            error = _oneshot.refusal(self._tables, constraint, detail, payment, record, refunds)
            if error is None:
                raise  # a constraint our writes never expect: the database's own words
            raise error from exc

    def _fetch(self, text: str, params: Mapping[str, Any]) -> Rows:
        with self._connection() as conn:
            return conn.execute(text, params).fetchall()

    def _text(self, statement: Select[Any]) -> str:
        text = self._texts.get(statement)
        if text is None:
            text = self._texts[statement] = str(statement.compile(dialect=self._engine.dialect))
        return text

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            pooled = self._engine.raw_connection()  # the pool's own errors come unwrapped
        except (DBAPIError, PoolTimeout) as exc:
            raise unavailable(exc) or exc from exc
        except _UNAVAILABLE as exc:
            raise store_unavailable(exc) from exc
        conn: psycopg.Connection[Any] = pooled.driver_connection  # type: ignore[assignment]  # None only once closed
        try:
            conn.autocommit = True
            yield conn
        except _UNAVAILABLE as exc:
            error = store_unavailable(exc)
            if conn.broken or conn.closed:
                pooled.invalidate(exc)
                raise _Broken(error) from exc
            raise error from exc
        finally:
            if not (conn.broken or conn.closed):
                conn.autocommit = False  # the pool lends it to transactions too
            pooled.close()


class _Broken(Exception):
    """The connection died under the statement; ``error`` is what the caller sees."""

    def __init__(self, error: StoreUnavailable) -> None:
        super().__init__(str(error))
        self.error = error
