"""Schema versions: ``upgrade`` for ``payments db upgrade``, ``ensure_schema`` at start-up.

The Alembic revisions live in ``payments_sqlstore/migrations/versions``. A server
must not run against a schema older (or newer) than its code: ``ensure_schema``
refuses with one line saying what to run, except that a SQLite database without our
tables is upgraded on the spot (the embedded default needs no separate step).

Only our tables and our version table, as the ``Layout`` names them, are looked at
or changed: the database may hold another application's tables and its own Alembic
history beside ours.
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
from sqlalchemy import Engine, inspect, text

from payments_sqlstore.engine import begin_writing, make_engine, store_errors
from payments_sqlstore.layout import Layout
from payments_sqlstore.migrations.naming import LAYOUT_KEY
from payments_sqlstore.tables import tables_for

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


def current_revision(database: str | Engine, *, layout: Layout | None = None) -> str | None:
    """The revision our schema is at (in ``layout``'s version table); None when never migrated.

    Raises: StoreUnavailable.
    """
    version_table = (layout or Layout()).version_table
    with _engine(database) as engine, store_errors(), engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": version_table})
        return context.get_current_revision()


def upgrade(
    database: str | Engine, revision: str = "head", *, layout: Layout | None = None
) -> None:
    """Apply the migrations up to ``revision`` to the tables ``layout`` names, in one transaction.

    Safe to run from several processes at once: they queue on a lock. Nothing but our
    tables and our version table is touched.

    Raises: StoreUnavailable.
    """
    with _engine(database) as engine, store_errors(), engine.begin() as conn:
        begin_writing(conn)  # SQLite: DDL inside one transaction, one upgrader at a time
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        config = alembic_config()
        config.attributes["connection"] = conn
        config.attributes[LAYOUT_KEY] = layout or Layout()
        command.upgrade(config, revision)


def ensure_schema(
    database: str | Engine,
    *,
    auto_upgrade_empty_sqlite: bool = True,
    layout: Layout | None = None,
) -> None:
    """Check that our schema (the tables ``layout`` names) is at the revision this code needs.

    Other tables in the database are none of our business. A SQLite database that has
    none of ours is upgraded when ``auto_upgrade_empty_sqlite``.

    Raises:
        SchemaMismatch: with a one-line message naming the command to run.
        StoreUnavailable: the database could not be reached.
    """
    layout = layout or Layout()
    with _engine(database) as engine:
        current = current_revision(engine, layout=layout)
        if current == head_revision():
            return
        if current is None:
            _refuse_unversioned_tables(engine, layout)
            if auto_upgrade_empty_sqlite and engine.dialect.name == "sqlite":
                upgrade(engine, layout=layout)
                return
        raise SchemaMismatch(_mismatch(current, layout))


def _refuse_unversioned_tables(engine: Engine, layout: Layout) -> None:
    """Refuse our tables without our revision: another version table, or half a schema."""
    ours = set(tables_for(layout.table_prefix).metadata.tables)
    with store_errors(), engine.connect() as conn:
        found = sorted(ours.intersection(inspect(conn).get_table_names()))
    if found:
        raise SchemaMismatch(
            f"database has payments tables ({', '.join(found)}) but no revision in table"
            f" {layout.version_table}: check PAYMENTS_DATABASE_VERSION_TABLE"
        )


def _mismatch(current: str | None, layout: Layout) -> str:
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
        " install the payments version that migrated it, or, if another application keeps its"
        f" revisions in table {layout.version_table}, set PAYMENTS_DATABASE_VERSION_TABLE"
    )


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
