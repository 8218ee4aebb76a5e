"""Pages of payments and status change history on the SQL store, beyond the contract suite."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, insert, text

from payments_core.inmemory import FrozenClock
from payments_core.listing import PaymentQuery
from payments_core.payment import PaymentStatus
from payments_core.testing import attempt_for, new_payment
from payments_core.values import ChangeSource
from payments_sqlstore import SqlPaymentRepository, make_engine, upgrade
from payments_sqlstore.rows import attempt_to_row, payment_to_row
from payments_sqlstore.tables import attempts, payments, status_changes
from tests.sqlstore.conftest import postgres_schema

pytestmark = pytest.mark.integration


@pytest.fixture
def traced(sqlite_url: str) -> Iterator[tuple[SqlPaymentRepository, list[str]]]:
    """A SQLite repository and every statement its connections run, as they run it."""
    engine = make_engine(sqlite_url)
    statements: list[str] = []

    @event.listens_for(engine, "connect")
    def _trace(dbapi_connection: sqlite3.Connection, _: object) -> None:
        dbapi_connection.set_trace_callback(statements.append)

    repo = SqlPaymentRepository(engine)
    yield repo, statements
    repo.close()


def test_a_page_of_payments_and_all_their_attempts_is_one_statement(
    traced: tuple[SqlPaymentRepository, list[str]], clock: FrozenClock
) -> None:
    repo, statements = traced
    for _ in range(30):
        stored = repo.add(new_payment(clock))
        for _ in range(2):
            stored = repo.save(
                stored.with_attempt(attempt_for(clock), at=clock.now()), previous=stored
            )
    statements.clear()

    page = repo.page(PaymentQuery(limit=20, payer="alice"))

    assert len(page) == 20
    assert all(len(p.attempts) == 3 for p in page)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1, statements


def test_each_filter_reads_a_page_from_an_index_that_ends_in_the_id(
    traced: tuple[SqlPaymentRepository, list[str]], clock: FrozenClock
) -> None:
    repo, statements = traced
    repo.add(new_payment(clock))
    shapes = {
        "payer": PaymentQuery(limit=5, payer="alice", before=10),
        "status": PaymentQuery(limit=5, status=PaymentStatus.PENDING),
        "order_id": PaymentQuery(limit=5, order_id="order-1"),
        "created_at": PaymentQuery(limit=5, created_from=clock.now(), created_to=clock.now()),
    }
    with repo.engine.connect() as conn:
        for column, query in shapes.items():
            statements.clear()
            repo.page(query)
            (read,) = statements
            plan = " ".join(
                str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + read)
            )
            assert f"ix_payments_{column}_id" in plan, plan


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def at_0005(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database migrated to revision 0005: status changes without a source."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        upgrade(url, "0005")
        yield url
        return
    with postgres_schema(request.getfixturevalue("postgres_url")) as url:
        upgrade(url, "0005")
        yield url


def test_changes_stored_before_0007_read_back_without_a_source(
    at_0005: str, clock: FrozenClock
) -> None:
    payment = new_payment(clock)
    engine = make_engine(at_0005)
    with engine.begin() as conn:
        inserted = conn.execute(insert(payments).values(payment_to_row(payment)))
        pid = inserted.inserted_primary_key[0]  # type: ignore[index]  # never None after a one-row INSERT
        attempt = attempt_to_row(pid, 0, payment.attempts[0], payment.vendor)
        del attempt["amount_paid_minor"], attempt["amount_paid_currency"]  # columns of 0006
        conn.execute(insert(attempts).values(attempt))
        conn.execute(  # the columns of revision 0005: no source
            text(
                "INSERT INTO status_changes (payment_id, previous_status, current_status,"
                " changed_at) VALUES (:payment_id, NULL, 'PENDING', :changed_at)"
            ),
            {"payment_id": pid, "changed_at": payment.created_at},
        )
    engine.dispose()

    upgrade(at_0005)
    repo = SqlPaymentRepository.from_url(at_0005)
    try:
        stored = repo.get(pid)
        repo.save(
            stored.transition(PaymentStatus.TIMEOUT, at=clock.now()),
            previous=stored,
            source=ChangeSource.SWEEP,
        )
        changes = repo.status_changes(pid)
        listed = repo.page(PaymentQuery(limit=5))
    finally:
        repo.close()

    assert [c.source for c in changes] == [None, ChangeSource.SWEEP]
    assert [p.id for p in listed] == [pid]
    assert status_changes.c.source.nullable
