"""Engines configured for payments: bounded waits everywhere, SQLite safe for writers.

SQLite runs in WAL mode with a busy timeout and foreign keys on. Python's sqlite3
opens every write transaction with ``BEGIN IMMEDIATE`` (``isolation_level``), just
before its first write statement, so writers queue on the lock for up to the busy
timeout instead of failing with "database is locked" when a read lock would have
to be upgraded; reads outside a write run in autocommit mode. Every repository
write transaction therefore starts with its write (``begin_writing`` is for the
rest). No engine events are used on the statement path: SQLAlchemy's event
dispatch would double the cost of a primary-key read. Reads made through
:func:`reader` run in autocommit mode on PostgreSQL too (one statement, no
BEGIN/COMMIT round trips).

PostgreSQL goes through psycopg 3 with a bounded pool, a connect timeout, and
statement and lock timeouts, so an unreachable or stuck database becomes
``StoreUnavailable`` in bounded time instead of a hang.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import StaticPool

from payments_core.errors import StoreUnavailable

DEFAULT_TIMEOUT: Final = 5.0
DEFAULT_POOL_SIZE: Final = 5
SETTING: Final = "PAYMENTS_DATABASE_URL"
_DRIVERS: Final = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgresql": "postgresql",
    "postgresql+psycopg": "postgresql",
}
_SCHEMES: Final = {
    "sqlite": "sqlite:// (Python's own sqlite3)",
    "postgresql": "postgresql:// or postgresql+psycopg:// (psycopg 3)",
}


def make_engine(
    url: str | URL, *, timeout: float = DEFAULT_TIMEOUT, pool_size: int = DEFAULT_POOL_SIZE
) -> Engine:
    """An engine for a ``sqlite://`` or ``postgresql[+psycopg]://`` URL.

    Args:
        url: the SQLAlchemy URL; ``postgresql://`` means psycopg 3.
        timeout: seconds any wait may take: connecting, a pool checkout, a lock, a statement.
        pool_size: connections kept per process (PostgreSQL; as many again may overflow).

    Raises:
        ValueError: one line naming ``PAYMENTS_DATABASE_URL``: not a URL, another database
            or driver, or PostgreSQL without psycopg installed.
    """
    parsed = _parse_url(url)
    if _DRIVERS[parsed.drivername] == "sqlite":
        return _sqlite_engine(parsed, timeout)
    _require_psycopg()
    return _postgres_engine(parsed, timeout, pool_size)


def _parse_url(url: str | URL) -> URL:
    """``url`` parsed and checked to name SQLite or PostgreSQL through psycopg.

    Raises:
        ValueError: one line naming ``PAYMENTS_DATABASE_URL`` (never the URL: it may
            hold a password).
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ValueError(f"{SETTING} is not a database URL like sqlite:///payments.db") from None
    if parsed.drivername not in _DRIVERS:
        backend = parsed.get_backend_name()
        if backend in _SCHEMES:
            raise ValueError(f"{SETTING}: {backend} is supported through {_SCHEMES[backend]} only")
        raise ValueError(f"{SETTING}: unsupported database {backend!r}")
    return parsed


def _require_psycopg() -> None:
    try:
        import psycopg  # noqa: F401 - the optional `postgres` extra; SQLite needs none of it
    except ImportError:
        raise ValueError(
            f"{SETTING} names PostgreSQL, but its driver psycopg is not installed:"
            " pip install '.[postgres]'"
        ) from None


def is_sqlite(url: str | URL) -> bool:
    """Whether ``url`` names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def reader(engine: Engine) -> Engine:
    """The same pool, with connections that read in autocommit mode.

    SQLite connections already do: Python's sqlite3 opens a transaction only
    before a write statement.
    """
    if engine.dialect.name == "sqlite":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def begin_writing(connection: Connection) -> None:
    """Take SQLite's write lock now: call it first in a transaction that starts with a read or DDL."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_engine(url: URL, timeout: float) -> Engine:
    memory = url.database in (None, "", ":memory:")
    pooling: dict[str, Any] = {"poolclass": StaticPool} if memory else {"pool_timeout": timeout}
    connect_args = {"timeout": timeout, "check_same_thread": False, "isolation_level": "IMMEDIATE"}
    engine = create_engine(url, connect_args=connect_args, **pooling)
    busy_ms = int(timeout * 1000)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def _postgres_engine(url: URL, timeout: float, pool_size: int) -> Engine:
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    wait_ms = int(timeout * 1000)
    options = (
        f"-c statement_timeout={wait_ms} -c lock_timeout={wait_ms}"
        f" -c idle_in_transaction_session_timeout={wait_ms * 6} -c timezone=UTC"
    )
    given = url.query.get("options")  # e.g. ?options=-csearch_path%3Dtenant: kept, ours after
    if given:
        options = f"{given if isinstance(given, str) else ' '.join(given)} {options}"
        url = url.difference_update_query(["options"])
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=timeout,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": max(2, math.ceil(timeout)),
            "options": options,
            "application_name": "payments",
            "keepalives": 1,
            "keepalives_idle": 30,
        },
    )


@contextmanager
def store_errors() -> Iterator[None]:
    """Turn an unreachable, locked or timed-out database into ``StoreUnavailable``."""
    try:
        yield
    except (DBAPIError, PoolTimeout) as exc:
        error = unavailable(exc)
        if error is None:
            raise
        raise error from exc


def store_unavailable(exc: BaseException) -> StoreUnavailable:
    """``StoreUnavailable`` naming only the kind of ``exc``: its text may hold the URL."""
    return StoreUnavailable(f"the payment store is unavailable ({type(exc).__name__})")


def unavailable(exc: DBAPIError | PoolTimeout) -> StoreUnavailable | None:
    """``StoreUnavailable`` for a connection, lock or timeout failure; None for the rest."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return store_unavailable(exc)
    if exc.connection_invalidated:
        return StoreUnavailable("the payment store connection was lost")
    return None
