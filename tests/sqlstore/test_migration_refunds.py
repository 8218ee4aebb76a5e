"""The refunds revision (0006) on databases holding payments: every row kept, refunds work after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from attrs import evolve
from sqlalchemy import insert, inspect

from payments_core.inmemory import FrozenClock
from payments_core.money import Money
from payments_core.payment import Payment
from payments_core.testing import new_payment, new_refund
from payments_core.values import Delivery, RefundChange, StatusChange
from payments_sqlstore import (
    Layout,
    SqlPaymentRepository,
    current_revision,
    head_revision,
    make_engine,
    upgrade,
)
from payments_sqlstore.engine import begin_writing
from payments_sqlstore.migrations.naming import LAYOUT_KEY
from payments_sqlstore.rows import attempt_to_row, change_to_row, payment_to_row
from payments_sqlstore.schema import alembic_config
from payments_sqlstore.tables import tables_for
from tests.sqlstore.conftest import postgres_schema

pytestmark = pytest.mark.integration

PREFIXES = ["", "pay_"]


def _revisions() -> tuple[str, str]:
    """The refunds revision and the one before it (revisions are renumbered when merged)."""
    script = ScriptDirectory.from_config(alembic_config())
    [ours] = [r for r in script.walk_revisions() if (r.path or "").endswith("_refunds.py")]
    assert isinstance(ours.down_revision, str)
    return ours.revision, ours.down_revision


REFUNDS, BEFORE = _revisions()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with postgres_schema(request.getfixturevalue("postgres_url")) as url:
        yield url


def _payments_before_refunds(url: str, layout: Layout, clock: FrozenClock) -> list[Payment]:
    """At revision 0005, a confirmed payment and a pending one, with their outbox rows."""
    upgrade(url, BEFORE, layout=layout)
    tables = tables_for(layout.table_prefix)
    pending = evolve(new_payment(clock), version=1)
    paid = pending.confirm(pending.attempts[0].reference, trade_id="T1", at=clock.now())
    stored = []
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for payment in (evolve(paid, version=2), evolve(new_payment(clock), version=1)):
                result = conn.execute(insert(tables.payments).values(payment_to_row(payment)))
                assert result.inserted_primary_key is not None
                payment = evolve(payment, id=result.inserted_primary_key[0])
                row = attempt_to_row(payment.id or 0, 0, payment.attempts[0], payment.vendor)
                del row["amount_paid_minor"], row["amount_paid_currency"]  # columns of 0006
                conn.execute(insert(tables.attempts).values(row))
                change = change_to_row(payment, None, None)
                del change["source"]  # a column of 0007
                conn.execute(insert(tables.status_changes).values(change))
                stored.append(payment)
    finally:
        engine.dispose()
    return stored


@pytest.mark.parametrize("prefix", PREFIXES)
def test_revision_0006_keeps_every_payment_and_change_and_adds_refunds(
    empty_url: str, prefix: str, clock: FrozenClock
) -> None:
    layout = Layout(prefix)
    kept = _payments_before_refunds(empty_url, layout, clock)

    upgrade(empty_url, layout=layout)

    assert current_revision(empty_url, layout=layout) == head_revision()
    repo = SqlPaymentRepository.from_url(empty_url, layout=layout)
    try:
        assert [repo.get(p.id or 0) for p in kept] == kept
        assert [a.amount_paid for p in kept for a in p.attempts] == [None, None]
        old = repo.pending_changes(limit=10)
        assert [(type(c), c.payment_id) for c in old] == [(StatusChange, p.id) for p in kept]
        refund = repo.add_refund(new_refund(kept[0], clock))
        done = repo.save_refund(refund.succeed(at=clock.now()), previous=refund)
        pending = kept[1]
        paid = pending.confirm(
            pending.attempts[0].reference, trade_id="T2", at=clock.now(), paid=Money(100012, "CNY")
        )
        repo.save(paid, previous=pending)
        changes = repo.pending_changes(limit=10)
        assert [type(c) for c in changes[2:]] == [RefundChange, RefundChange, StatusChange]
        assert changes[2].id > old[-1].id
        assert repo.get(pending.id or 0).attempts[0].amount_paid == Money(100012, "CNY")
        assert repo.refunds_for(kept[0].id or 0) == [done]
        repo.mark_delivered([Delivery(change_id=c.id, done=True) for c in changes])
        assert repo.pending_changes(limit=10) == []
    finally:
        repo.close()
    engine = make_engine(empty_url)
    try:
        indexes = {i["name"] for i in inspect(engine).get_indexes(f"{prefix}status_changes")}
    finally:
        engine.dispose()
    assert f"ix_{prefix}status_changes_pending" in indexes  # made again after the table copy


def test_revision_0006_downgrades_to_0005_keeping_the_payments(
    empty_url: str, clock: FrozenClock
) -> None:
    layout = Layout()
    kept = _payments_before_refunds(empty_url, layout, clock)
    upgrade(empty_url, layout=layout)
    repo = SqlPaymentRepository.from_url(empty_url, layout=layout)
    try:
        repo.add_refund(new_refund(kept[0], clock))
    finally:
        repo.close()

    _downgrade(empty_url, BEFORE)  # and any later revision first

    assert current_revision(empty_url) == BEFORE
    engine = make_engine(empty_url)
    try:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names())
        outbox = {c["name"] for c in inspector.get_columns("status_changes")}
        attempts = {c["name"] for c in inspector.get_columns("attempts")}
    finally:
        engine.dispose()
    assert {"refunds", "refund_idempotency"}.isdisjoint(tables)
    assert "refund_id" not in outbox
    assert "amount_paid_minor" not in attempts
    upgrade(empty_url)
    repo = SqlPaymentRepository.from_url(empty_url)
    try:
        assert [repo.get(p.id or 0) for p in kept] == kept
        assert [c.payment_id for c in repo.pending_changes(limit=10)] == [p.id for p in kept]
        assert repo.refunds_for(kept[0].id or 0) == []
    finally:
        repo.close()


def _downgrade(url: str, revision: str) -> None:
    """What an operator's ``alembic downgrade`` does, on our packaged migrations."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            begin_writing(conn)
            config = alembic_config()
            config.attributes["connection"] = conn
            config.attributes[LAYOUT_KEY] = Layout()
            command.downgrade(config, revision)
    finally:
        engine.dispose()
