"""Fixtures for the sqlstore tests: migrated, empty databases on SQLite and PostgreSQL.

Each PostgreSQL test session works in its own schema (``search_path`` in the URL),
so that runs sharing the database never see each other's rows.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from payments_core.inmemory import FrozenClock
from payments_sqlstore import SqlPaymentRepository, make_engine, upgrade
from payments_sqlstore.tables import tables_for


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A new, empty schema; yields a URL whose connections use it, then drops it."""
    name = f"sqlstore_{secrets.token_hex(4)}"
    admin = make_engine(base_url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {name}"))
        url = make_url(base_url).update_query_dict({"options": f"-csearch_path={name}"})
        yield url.render_as_string(hide_password=False)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
    finally:
        admin.dispose()


def truncate(url: str, prefix: str = "") -> None:
    """Empty every table of ours (named with ``prefix``) in the migrated database at ``url``."""
    engine = make_engine(url)
    names = ", ".join(table.name for table in tables_for(prefix).metadata.sorted_tables)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    """A clock standing still at a fixed UTC time."""
    return FrozenClock()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for every test that needs one."""
    path = tmp_path_factory.mktemp("template") / "payments.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty SQLite database of this test's own."""
    path = tmp_path / "payments.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def postgres_migrated(postgres_url: str) -> Iterator[str]:
    """A migrated schema shared by this session's tests."""
    with postgres_schema(postgres_url) as url:
        upgrade(url)
        yield url


@pytest.fixture
def pg_url(postgres_migrated: str) -> str:
    """The session's migrated PostgreSQL schema, emptied for this test."""
    truncate(postgres_migrated)
    return postgres_migrated


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database: SQLite, then PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def repo(db_url: str) -> Iterator[SqlPaymentRepository]:
    """A repository on an empty database, closed after the test."""
    repository = SqlPaymentRepository.from_url(db_url)
    yield repository
    repository.close()
