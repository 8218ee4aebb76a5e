"""Schema versions: ``upgrade`` for ``payments db upgrade``, ``ensure_schema`` at start-up.

The Alembic revisions live in ``payments_sqlstore/migrations/versions``. A server
must not run against a schema older (or newer) than its code: ``ensure_schema``
refuses with one line saying what to run, except that an empty SQLite database is
upgraded on the spot (the embedded default needs no separate step).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from payments_sqlstore.engine import begin_writing, make_engine, store_errors

SCRIPT_LOCATION: Final = "payments_sqlstore:migrations"
_LOCK_KEY: Final = zlib.crc32(b"payments_sqlstore.upgrade")  # PostgreSQL advisory lock


class SchemaMismatch(ValueError):
    """The database schema is not the one this code needs; the message says what to run."""


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


@cache
def head_revision() -> str:
    """The revision this code needs."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("payments_sqlstore ships no migrations: the package is broken")
    return head


def current_revision(database: str | Engine) -> str | None:
    """The revision the database is at; None when it was never migrated.

    Raises: StoreUnavailable.
    """
    with _engine(database) as engine, store_errors(), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(database: str | Engine, revision: str = "head") -> None:
    """Apply the migrations up to ``revision``, in one transaction.

    Safe to run from several processes at once: they queue on a lock.

    Raises: StoreUnavailable.
    """
    with _engine(database) as engine, store_errors(), engine.begin() as conn:
        begin_writing(conn)  # SQLite: DDL inside one transaction, one upgrader at a time
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def ensure_schema(database: str | Engine, *, auto_upgrade_empty_sqlite: bool = True) -> None:
    """Check that the database is at the revision this code needs.

    An empty SQLite database is upgraded when ``auto_upgrade_empty_sqlite``.

    Raises:
        SchemaMismatch: with a one-line message naming the command to run.
        StoreUnavailable: the database could not be reached.
    """
    with _engine(database) as engine:
        current = current_revision(engine)
        if current == head_revision():
            return
        if current is None and auto_upgrade_empty_sqlite and _empty_sqlite(engine):
            upgrade(engine)
            return
        raise SchemaMismatch(_mismatch(current))


def _mismatch(current: str | None) -> str:
    head = head_revision()
    if current is None:
        return f"database has no payments schema, code needs revision {head}: run `payments db upgrade`"
    known = {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }
    if current in known:
        return f"database schema is at revision {current}, code needs {head}: run `payments db upgrade`"
    return (
        f"database schema is at revision {current}, unknown to this code (which needs {head}):"
        " install the payments version that migrated it"
    )


def _empty_sqlite(engine: Engine) -> bool:
    if engine.dialect.name != "sqlite":
        return False
    with store_errors(), engine.connect() as conn:
        return not _table_names(conn)


def _table_names(conn: Connection) -> list[str]:
    return inspect(conn).get_table_names()


@contextmanager
def _engine(database: str | Engine) -> Iterator[Engine]:
    if isinstance(database, Engine):
        yield database
        return
    engine = make_engine(database)
    try:
        yield engine
    finally:
        engine.dispose()
