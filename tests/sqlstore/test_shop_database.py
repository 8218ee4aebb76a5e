"""Our schema in a shop's own database: a table prefix, our own version table, theirs untouched.

The shop's database has its own ``orders`` and (its own!) ``payments`` table and its own
Alembic history in ``alembic_version``. Any statement of ours that forgot the prefix
would hit the shop's ``payments`` table and fail, or change the shop's rows.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from attrs import evolve
from sqlalchemy import Engine, inspect, text

from payments_core.inmemory import FrozenClock
from payments_core.testing import RepositoryContract, new_payment, new_refund
from payments_core.values import IdempotencyClaim
from payments_http import cli
from payments_sqlstore import (
    Layout,
    SchemaMismatch,
    SqlPaymentRepository,
    current_revision,
    ensure_schema,
    head_revision,
    make_engine,
    upgrade,
)
from payments_sqlstore import plugin as sqlstore_plugin
from payments_sqlstore.layout import MAX_PREFIX
from payments_sqlstore.tables import tables_for
from tests.sqlstore.conftest import postgres_schema, truncate

pytestmark = pytest.mark.integration

PREFIX = "pay_store_"  # as long as a prefix may be: every name must still fit PostgreSQL's 63
LAYOUT = Layout(PREFIX)
OURS = {
    f"{PREFIX}{name}"
    for name in (
        "payments",
        "attempts",
        "idempotency_records",
        "status_changes",
        "subscribers",
        "refunds",
        "refund_idempotency",
    )
}
SHOP_TABLES = ("orders", "payments", "alembic_version")
SHOP_REVISION = "shop0042"
_SHOP_SCHEMA = (
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, total_cents INTEGER NOT NULL)",
    "CREATE TABLE payments (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, note TEXT)",
    "CREATE INDEX ix_payments_order_id ON payments (order_id)",
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
    "INSERT INTO alembic_version VALUES ('shop0042')",  # SHOP_REVISION
    "INSERT INTO orders VALUES (1, 1999)",
    "INSERT INTO payments VALUES (7, 1, 'paid at the till')",
)


def add_shop(url: str) -> None:
    """Give the database at ``url`` the shop's own tables, rows and Alembic history."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for statement in _SHOP_SCHEMA:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def shop_state(url: str) -> dict[str, Any]:
    """The shop's rows, its indexes and every table name in the database."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = {
                name: sorted(tuple(r) for r in conn.execute(text(f"SELECT * FROM {name}")))  # noqa: S608 - our constants
                for name in SHOP_TABLES
            }
            indexes = [i["name"] for i in inspect(conn).get_indexes("payments")]
            return {
                "rows": rows,
                "indexes": indexes,
                "tables": set(inspect(conn).get_table_names()),
            }
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shop_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database holding only the shop's tables and its Alembic revision."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
        add_shop(url)
        yield url
        return
    with postgres_schema(request.getfixturevalue("postgres_url")) as url:
        add_shop(url)
        yield url


def test_db_upgrade_with_a_prefix_leaves_the_shops_tables_and_history_alone(
    shop_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = shop_state(shop_url)
    monkeypatch.delenv("PAYMENTS_DATABASE_VERSION_TABLE", raising=False)
    monkeypatch.delenv("PAYMENTS_DATABASE_TABLE_PREFIX", raising=False)
    monkeypatch.setenv("PAYMENTS_DATABASE_URL", shop_url)

    status = cli.main(["db", "upgrade", "--database-table-prefix", PREFIX])

    assert (status, capsys.readouterr().out) == (
        0,
        f"database schema at revision {head_revision()}\n",
    )
    after = shop_state(shop_url)
    assert after["rows"] == before["rows"]
    assert after["rows"]["alembic_version"] == [(SHOP_REVISION,)]
    assert after["indexes"] == before["indexes"]
    assert after["tables"] == before["tables"] | OURS | {f"{PREFIX}alembic_version"}
    assert current_revision(shop_url, layout=LAYOUT) == head_revision()
    ensure_schema(shop_url, layout=LAYOUT)


def test_the_migrations_build_exactly_the_prefixed_tables_every_name_prefixed(
    shop_url: str,
) -> None:
    upgrade(shop_url, layout=LAYOUT)

    engine = make_engine(shop_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={"include_name": lambda name, kind, _parent: kind != "table" or name in OURS},
            )
            differences = compare_metadata(context, tables_for(PREFIX).metadata)
            names = _our_names(engine)
    finally:
        engine.dispose()
    assert differences == []
    assert names
    assert [name for name in names if PREFIX not in name] == []
    assert f"pk_{PREFIX}subscribers" in names
    assert max(len(name) for name in names) <= 63  # SQLite keeps what PostgreSQL would cut
    # a name cut short at 63 would lose the referred table's prefixed name
    assert {n for n in names if n.startswith("fk_")} == {
        f"fk_{PREFIX}{child}_payment_id_{PREFIX}payments"
        for child in ("attempts", "idempotency_records", "status_changes", "refunds")
    } | {
        f"fk_{PREFIX}{child}_refund_id_{PREFIX}refunds"
        for child in ("refund_idempotency", "status_changes")
    }
    assert f"uq_{PREFIX}refunds_reference" in names


def _our_names(engine: Engine) -> list[str]:
    """Every index, constraint and sequence name on our tables."""
    inspector = inspect(engine)
    names: list[str] = []
    for table in sorted(OURS):
        names += [str(i["name"]) for i in inspector.get_indexes(table)]
        names += [str(f["name"]) for f in inspector.get_foreign_keys(table)]
        names += [str(u["name"]) for u in inspector.get_unique_constraints(table)]
        names.append(str(inspector.get_pk_constraint(table)["name"]))
    if engine.dialect.name == "postgresql":
        names += inspector.get_sequence_names()
    return names


def test_the_plugin_starts_on_a_shop_sqlite_database_and_gives_it_only_our_tables(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    add_shop(url)
    before = shop_state(url)

    repo = sqlstore_plugin.payments_payment_repository(
        url=url, settings={"PAYMENTS_DATABASE_TABLE_PREFIX": PREFIX}
    )

    assert isinstance(repo, SqlPaymentRepository)
    repo.close()
    after = shop_state(url)
    assert after["rows"] == before["rows"]
    assert after["tables"] == before["tables"] | OURS | {f"{PREFIX}alembic_version"}


def test_a_sqlite_database_with_only_other_tables_is_upgraded_at_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE orders (id INTEGER PRIMARY KEY)"))
    engine.dispose()

    ensure_schema(url)

    assert current_revision(url) == head_revision()


def test_our_history_in_the_shops_version_table_is_refused_naming_the_setting(
    shop_url: str,
) -> None:
    with pytest.raises(
        SchemaMismatch, match=r"revision shop0042, unknown.*PAYMENTS_DATABASE_VERSION_TABLE"
    ):
        ensure_schema(shop_url)


def test_our_tables_without_our_revision_are_refused(shop_url: str) -> None:
    upgrade(shop_url, layout=LAYOUT)

    with pytest.raises(SchemaMismatch) as refused:
        ensure_schema(shop_url, layout=Layout(PREFIX, "elsewhere_version"))

    assert str(refused.value) == (
        f"database has payments tables ({', '.join(sorted(OURS))}) but no revision in table"
        " elsewhere_version: check PAYMENTS_DATABASE_VERSION_TABLE"
    )


def test_an_explicit_version_table_keeps_our_revision(shop_url: str) -> None:
    layout = Layout(PREFIX, "payments_history")

    upgrade(shop_url, layout=layout)

    assert current_revision(shop_url, layout=layout) == head_revision()
    assert current_revision(shop_url, layout=LAYOUT) is None
    assert shop_state(shop_url)["rows"]["alembic_version"] == [(SHOP_REVISION,)]


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"PAYMENTS_DATABASE_TABLE_PREFIX": "pay-"}, "PAYMENTS_DATABASE_TABLE_PREFIX"),
        ({"PAYMENTS_DATABASE_TABLE_PREFIX": "Pay_"}, "PAYMENTS_DATABASE_TABLE_PREFIX"),
        ({"PAYMENTS_DATABASE_TABLE_PREFIX": "1pay_"}, "PAYMENTS_DATABASE_TABLE_PREFIX"),
        (
            {"PAYMENTS_DATABASE_TABLE_PREFIX": "p;drop table orders;--"},
            "PAYMENTS_DATABASE_TABLE_PREFIX",
        ),
        (
            {"PAYMENTS_DATABASE_TABLE_PREFIX": "p" * (MAX_PREFIX + 1)},
            "PAYMENTS_DATABASE_TABLE_PREFIX",
        ),
        ({"PAYMENTS_DATABASE_VERSION_TABLE": "our versions"}, "PAYMENTS_DATABASE_VERSION_TABLE"),
        ({"PAYMENTS_DATABASE_VERSION_TABLE": "x" * 64}, "PAYMENTS_DATABASE_VERSION_TABLE"),
    ],
)
def test_a_bad_name_setting_is_refused_in_one_line_naming_it(
    settings: dict[str, str], named: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'untouched.db'}"

    with pytest.raises(ValueError, match=f"^{named} must be") as refused:
        sqlstore_plugin.payments_payment_repository(url=url, settings=settings)

    assert "\n" not in str(refused.value)
    assert not (tmp_path / "untouched.db").exists()


def test_db_upgrade_names_a_bad_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'untouched.db'}"

    status = cli.main(["db", "upgrade", "--database-url", url, "--database-table-prefix", "pay-"])

    assert status == 2
    assert capsys.readouterr().err.startswith("payments: PAYMENTS_DATABASE_TABLE_PREFIX must be")


def test_the_name_settings_are_declared() -> None:
    declared = {s.name: s.default for s in sqlstore_plugin.payments_settings()}

    assert declared["PAYMENTS_DATABASE_TABLE_PREFIX"] == ""
    assert declared["PAYMENTS_DATABASE_VERSION_TABLE"] is None  # the prefix, then alembic_version


def test_the_defaults_are_todays_names() -> None:
    default = tables_for("")

    assert Layout() == Layout("", "alembic_version")
    assert set(default.metadata.tables) == {
        "payments",
        "attempts",
        "idempotency_records",
        "status_changes",
        "subscribers",
        "refunds",
        "refund_idempotency",
    }
    assert {i.name for t in default.metadata.tables.values() for i in t.indexes} == {
        "uq_payments_live_order",
        "ix_payments_payer_id",
        "ix_payments_status_id",
        "ix_payments_order_id_id",
        "ix_payments_created_at_id",
        "ix_attempts_payment_id",
        "uq_attempts_vendor_trade_id",
        "ix_attempts_open_expiry",
        "ix_idempotency_records_payment_id",
        "ix_status_changes_payment_id",
        "ix_status_changes_pending",
        "ix_refunds_payment_id",
        "ix_refunds_pending",
    }


# --- the repository contract on prefixed tables in a shop's database -------------------


@pytest.fixture(scope="session")
def shop_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A shop's SQLite file with our prefixed schema migrated in."""
    path = tmp_path_factory.mktemp("shop") / "shop.db"
    add_shop(f"sqlite:///{path}")
    upgrade(f"sqlite:///{path}", layout=LAYOUT)
    return path


@pytest.fixture(scope="session")
def shop_postgres(postgres_url: str) -> Iterator[str]:
    """A shop's PostgreSQL schema with our prefixed schema migrated in."""
    with postgres_schema(postgres_url) as url:
        add_shop(url)
        upgrade(url, layout=LAYOUT)
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shop_repo_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Our prefixed tables, empty, in a shop's database."""
    if request.param == "sqlite":
        path = tmp_path / "shop.db"
        shutil.copyfile(request.getfixturevalue("shop_sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("shop_postgres")
    truncate(url, PREFIX)
    return url


class TestPrefixedRepositoryInAShopDatabase(RepositoryContract):
    """Every contract test on prefixed tables, once per database."""

    @pytest.fixture
    def repo(self, shop_repo_url: str) -> Iterator[SqlPaymentRepository]:
        """The repository on our empty prefixed tables; the shop's rows checked after."""
        before = shop_state(shop_repo_url)["rows"]
        repository = SqlPaymentRepository.from_url(shop_repo_url, layout=LAYOUT)
        yield repository
        repository.close()
        assert shop_state(shop_repo_url)["rows"] == before


# --- moving an existing deployment to a prefix: the SQL of docs/sqlstore.md ------------

_DOCS = Path(__file__).resolve().parents[2] / "docs" / "sqlstore.md"


def _documented_sql(title: str) -> list[str]:
    """The statements of the docs' ```sql block whose first line is ``-- move to a prefix: title``."""
    blocks = re.findall(r"```sql\n(.*?)```", _DOCS.read_text(encoding="utf-8"), flags=re.S)
    [block] = [b for b in blocks if b.lstrip().startswith(f"-- move to a prefix: {title}")]
    lines = [line.strip() for line in block.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in " ".join(lines).split(";") if s.strip()]


def _run_sql(url: str, statements: list[str]) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def test_the_documented_move_to_a_prefix_keeps_every_payment(
    empty_url: str, clock: FrozenClock
) -> None:
    upgrade(empty_url)
    old = SqlPaymentRepository.from_url(empty_url)
    try:
        claim = IdempotencyClaim(payer="alice", key="k1", fingerprint="f1")
        kept = [old.add(new_payment(clock), idempotency=claim), old.add(new_payment(clock))]
        confirmed = kept[0].confirm(kept[0].attempts[0].reference, trade_id="T1", at=clock.now())
        kept[0] = old.save(confirmed, previous=kept[0])
        refund = old.add_refund(
            new_refund(kept[0], clock), idempotency=evolve(claim, fingerprint="f2")
        )
        refunded = old.save_refund(refund.succeed(at=clock.now()), previous=refund)
        old.register_subscribers(["shop_mailer", "shop_ledger"], clock.now())
        old.retire_subscriber("shop_ledger", clock.now())
        changes = old.pending_changes(limit=10)
        subscribers = old.subscribers()
    finally:
        old.close()
    layout = Layout("pay_")

    upgrade(empty_url, layout=layout)
    _run_sql(empty_url, _documented_sql("copy the rows (SQLite and PostgreSQL)"))
    if empty_url.startswith("postgresql"):
        _run_sql(empty_url, _documented_sql("the sequences (PostgreSQL only)"))
    _run_sql(empty_url, _documented_sql("drop the old tables (SQLite and PostgreSQL)"))

    ensure_schema(empty_url, layout=layout)
    moved = SqlPaymentRepository.from_url(empty_url, layout=layout)
    try:
        assert [moved.get(p.id or 0) for p in kept] == kept
        assert moved.find_idempotent("alice", "k1") is not None
        assert moved.pending_changes(limit=10) == changes
        assert moved.subscribers() == subscribers
        assert moved.refunds_for(kept[0].id or 0) == [refunded]
        assert moved.find_idempotent_refund("alice", "k1") is not None
        later = moved.add_refund(new_refund(kept[1], clock))
        assert (later.id or 0) > (refunded.id or 0)
        added = moved.add(new_payment(clock))
        assert (added.id or 0) > max(p.id or 0 for p in kept)
        confirmed = added.confirm(added.attempts[0].reference, trade_id="T2", at=clock.now())
        moved.save(confirmed, previous=added)
        assert moved.pending_changes(limit=10)[-1].id > changes[-1].id
    finally:
        moved.close()
    engine = make_engine(empty_url)
    try:
        assert set(inspect(engine).get_table_names()) == tables_for(
            "pay_"
        ).metadata.tables.keys() | {"pay_alembic_version"}
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with postgres_schema(request.getfixturevalue("postgres_url")) as url:
        yield url
