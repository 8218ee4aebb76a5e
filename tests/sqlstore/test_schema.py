"""Migrations from empty, the start-up schema check, the plugin and ``python -m``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pluggy
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from attrs import evolve
from sqlalchemy import insert, inspect, select, text

from payments_core.errors import DuplicateTradeId
from payments_core.inmemory import FrozenClock
from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_core.testing import new_payment
from payments_sqlstore import (
    SchemaMismatch,
    SqlPaymentRepository,
    current_revision,
    ensure_schema,
    head_revision,
    make_engine,
    upgrade,
)
from payments_sqlstore import plugin as sqlstore_plugin
from payments_sqlstore.rows import attempt_to_row, payment_to_row
from payments_sqlstore.tables import attempts, metadata, payments
from tests.sqlstore.conftest import postgres_schema

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with postgres_schema(request.getfixturevalue("postgres_url")) as url:
        yield url


def test_migrations_from_empty_build_exactly_the_tables_the_code_uses(empty_url: str) -> None:
    upgrade(empty_url)

    engine = make_engine(empty_url)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert differences == []
    assert current_revision(empty_url) == head_revision()


def test_upgrade_twice_is_harmless(empty_url: str) -> None:
    upgrade(empty_url)
    upgrade(empty_url)

    assert current_revision(empty_url) == head_revision()


def test_an_empty_sqlite_database_is_upgraded_at_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"

    ensure_schema(url)

    assert current_revision(url) == head_revision()


def test_an_empty_database_is_refused_without_auto_upgrade(empty_url: str) -> None:
    with pytest.raises(SchemaMismatch, match=r"no payments schema.*run `payments db upgrade`"):
        ensure_schema(empty_url, auto_upgrade_empty_sqlite=False)


def test_an_empty_postgres_database_is_never_upgraded_at_start(postgres_url: str) -> None:
    with postgres_schema(postgres_url) as url, pytest.raises(SchemaMismatch):
        ensure_schema(url)


def test_a_schema_older_than_the_code_is_refused_in_one_line(empty_url: str) -> None:
    upgrade(empty_url, "0001")

    with pytest.raises(SchemaMismatch) as caught:
        ensure_schema(empty_url)

    assert str(caught.value) == (
        f"database schema is at revision 0001, code needs {head_revision()}:"
        " run `payments db upgrade`"
    )
    upgrade(empty_url)
    ensure_schema(empty_url)


def test_a_schema_newer_than_the_code_is_refused(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    engine.dispose()

    with pytest.raises(SchemaMismatch, match="revision f00d, unknown to this code"):
        ensure_schema(sqlite_url)


def test_hook_payments_payment_repository_answers_sql_urls_only(sqlite_url: str) -> None:
    hooks = PaymentHooks(_manager())

    repo = hooks.repository(sqlite_url, {})

    assert isinstance(repo, SqlPaymentRepository)
    repo.close()
    assert sqlstore_plugin.payments_payment_repository(url="memory://", settings={}) is None


def test_the_plugin_refuses_an_old_schema_with_a_value_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0001")

    with pytest.raises(ValueError, match="run `payments db upgrade`"):
        PaymentHooks(_manager()).repository(url, {})


def test_the_plugin_names_a_bad_setting(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="PAYMENTS_DATABASE_TIMEOUT"):
        sqlstore_plugin.payments_payment_repository(
            url=sqlite_url, settings={"PAYMENTS_DATABASE_TIMEOUT": "soon"}
        )


def test_python_m_upgrades_and_checks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"

    check_before = _run("check", url)
    upgraded = _run("upgrade", url)
    check_after = _run("check", url)

    assert check_before.returncode == 1
    assert "run `payments db upgrade`" in check_before.stderr
    assert upgraded.returncode == 0
    assert check_after.returncode == 0
    assert f"at revision {head_revision()}" in check_after.stdout


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "payments_sqlstore", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _manager() -> pluggy.PluginManager:
    pm = make_plugin_manager(load_entrypoints=False)
    pm.register(sqlstore_plugin)
    return pm


def _settled_before_0004(url: str, rows: list[tuple[str, str | None]]) -> list[int]:
    """At revision 0003, one payment per (vendor, trade id) row, each with one attempt."""
    upgrade(url, "0003")
    engine = make_engine(url)
    clock = FrozenClock()
    ids = []
    try:
        with engine.begin() as conn:
            for vendor, trade_id in rows:
                payment = evolve(new_payment(clock), vendor=vendor, version=1)
                if trade_id is not None:
                    payment = payment.confirm(
                        payment.attempts[0].reference, trade_id=trade_id, at=clock.now()
                    )
                inserted = conn.execute(insert(payments).values(payment_to_row(payment)))
                assert inserted.inserted_primary_key is not None
                new_id = inserted.inserted_primary_key[0]
                row = attempt_to_row(new_id, 0, payment.attempts[0], vendor)
                for later in ("vendor", "amount_paid_minor", "amount_paid_currency"):
                    del row[later]  # columns of revisions 0004 and 0006
                conn.execute(insert(attempts).values(row))
                ids.append(new_id)
    finally:
        engine.dispose()
    return ids


def test_revision_0004_gives_attempts_their_vendor_and_one_trade_one_attempt(
    empty_url: str,
) -> None:
    ids = _settled_before_0004(empty_url, [("alipay", "T1"), ("fake", "T1"), ("alipay", None)])

    upgrade(empty_url)

    repo = SqlPaymentRepository.from_url(empty_url)
    try:
        with repo.engine.connect() as conn:
            vendors = conn.execute(
                select(attempts.c.payment_id, attempts.c.vendor).order_by(attempts.c.payment_id)
            ).all()
        assert [tuple(row) for row in vendors] == list(
            zip(ids, ["alipay", "fake", "alipay"], strict=True)
        )
        pending = repo.get(ids[2])
        with pytest.raises(DuplicateTradeId):
            repo.save(
                pending.confirm(
                    pending.attempts[0].reference, trade_id="T1", at=pending.created_at
                ),
                previous=pending,
            )
        assert repo.get(ids[2]) == pending
    finally:
        repo.close()


def test_revision_0004_stops_and_changes_nothing_when_one_trade_settled_two_attempts(
    empty_url: str,
) -> None:
    ids = _settled_before_0004(empty_url, [("alipay", "T1"), ("alipay", "T1"), ("fake", "T2")])

    with pytest.raises(SchemaMismatch) as stopped:
        upgrade(empty_url)

    message = str(stopped.value)
    assert "revision 0004 stopped, nothing changed" in message
    assert "alipay trade T1 on attempt" in message
    assert f"of payment {ids[0]}" in message
    assert f"of payment {ids[1]}" in message
    assert "T2" not in message
    assert message.endswith("then run `payments db upgrade` again")
    assert current_revision(empty_url) == "0003"
    engine = make_engine(empty_url)
    try:
        with engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("attempts")}
    finally:
        engine.dispose()
    assert "vendor" not in columns
