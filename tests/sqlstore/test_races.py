"""8 threads and 2 OS processes confirm one payment at once: one transition, one status change.

Sweepers racing for attempts and refunds never share one."""

from __future__ import annotations

import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from payments_core.errors import PaymentExists
from payments_core.money import Money
from payments_core.payment import Payment, PaymentStatus
from payments_core.refund import Refund, RefundKind
from payments_sqlstore import SqlPaymentRepository, make_engine
from payments_sqlstore._statements import statements_for
from payments_sqlstore.tables import status_changes
from tests.sqlstore._worker import confirm_once, new_payment

pytestmark = pytest.mark.integration

THREADS = 8
PROCESSES = 2
ROUNDS = 3


@pytest.fixture
def confirmers(db_url: str) -> Iterator[list[subprocess.Popen[str]]]:
    """Two warmed-up worker processes waiting for payment ids."""
    procs = [_spawn("confirm", db_url) for _ in range(PROCESSES)]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.communicate(timeout=30)


def test_one_payment_confirmed_by_everyone_at_once_changes_once(
    db_url: str, confirmers: list[subprocess.Popen[str]]
) -> None:
    repo = SqlPaymentRepository.from_url(db_url)
    try:
        for _ in range(ROUNDS):
            payment_id = _add(repo)

            wins = _race(repo, payment_id, confirmers)

            assert wins == 1
            assert repo.get(payment_id).status is PaymentStatus.CONFIRMED
            assert _confirmations(repo, payment_id) == 1
    finally:
        repo.close()


def _race(repo: SqlPaymentRepository, payment_id: int, procs: list[subprocess.Popen[str]]) -> int:
    start = threading.Barrier(THREADS + 1)
    results: list[bool] = []

    def confirm() -> None:
        start.wait()
        results.append(confirm_once(repo, payment_id, trade_id=f"trade-{payment_id}"))

    threads = [threading.Thread(target=confirm) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(f"{payment_id}\n")
        proc.stdin.flush()
    start.wait()
    for thread in threads:
        thread.join(timeout=60)
    answers = [proc.stdout.readline().strip() for proc in procs if proc.stdout]
    assert len(results) == THREADS
    assert sorted(set(answers)) <= ["lost", "won"]
    return results.count(True) + answers.count("won")


def _add(repo: SqlPaymentRepository) -> int:
    token = secrets.token_hex(6)
    stored = repo.add(new_payment(f"race-{token}", f"RACE{token}"))
    assert stored.id is not None
    return stored.id


def _confirmations(repo: SqlPaymentRepository, payment_id: int) -> int:
    query = (
        select(func.count())
        .select_from(status_changes)
        .where(status_changes.c.payment_id == payment_id)
        .where(status_changes.c.current_status == "CONFIRMED")
    )
    with repo.engine.connect() as conn:
        count: int = conn.execute(query).scalar_one()
    return count


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and test module
        [sys.executable, "-m", "tests.sqlstore._worker", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_concurrent_sweepers_never_claim_the_same_attempt(db_url: str) -> None:
    repo = SqlPaymentRepository.from_url(db_url)
    references = {repo.add(_new()).attempts[0].reference for _ in range(60)}
    claimed: list[str] = []
    start = threading.Barrier(4)

    def sweep() -> None:
        start.wait()
        while batch := repo.claim_due(datetime.now(UTC), limit=7, lease=timedelta(minutes=5)):
            claimed.extend(due.reference for due in batch)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    repo.close()

    assert sorted(claimed) == sorted(references)


def _new() -> Payment:
    token = secrets.token_hex(6)
    return new_payment(f"sweep-{token}", f"SWEEP{token}")


def test_postgres_claims_skip_rows_other_sweepers_hold() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1/none")  # never connects
    sql = statements_for("")
    compiled = str(sql.claim.compile(dialect=engine.dialect))
    refunds = str(sql.claim_refunds.compile(dialect=engine.dialect))
    engine.dispose()

    assert "FOR UPDATE OF attempts SKIP LOCKED" in compiled
    assert "FOR UPDATE OF refunds SKIP LOCKED" in refunds


def test_sweepers_with_engines_of_their_own_never_claim_the_same_refund(db_url: str) -> None:
    """As sweepers in several processes: each has its own pool of connections."""
    repo = SqlPaymentRepository.from_url(db_url)
    payment = repo.add(_new())
    refunds = {repo.add_refund(_refund(payment)).id for _ in range(60)}
    repo.close()
    sweepers = [SqlPaymentRepository.from_url(db_url) for _ in range(4)]
    claimed: list[list[int | None]] = [[] for _ in sweepers]
    start = threading.Barrier(len(sweepers))

    def sweep(n: int) -> None:
        start.wait()
        now = datetime.now(UTC)
        while batch := sweepers[n].claim_due_refunds(now, limit=2, lease=timedelta(minutes=5)):
            claimed[n].extend(refund.id for refund in batch)

    threads = [threading.Thread(target=sweep, args=(n,)) for n in range(len(sweepers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for sweeper in sweepers:
        sweeper.close()

    every = [refund_id for mine in claimed for refund_id in mine]
    assert sorted(every, key=str) == sorted(refunds, key=str)  # each exactly once


def _refund(payment: Payment) -> Refund:
    assert payment.id is not None
    return Refund.start(
        payment_id=payment.id,
        attempt=payment.attempts[0].reference,
        reference=f"RF{secrets.token_hex(8)}",
        amount=Money(1, "CNY"),
        reason=None,
        kind=RefundKind.REQUESTED,
        at=datetime.now(UTC),
    )


def test_concurrent_creates_for_one_order_leave_one_live_payment(db_url: str) -> None:
    repo = SqlPaymentRepository.from_url(db_url)
    order_id = f"order-{secrets.token_hex(6)}"
    outcomes: list[int | str] = []
    start = threading.Barrier(THREADS)

    def create() -> None:
        start.wait()
        try:
            outcomes.append(repo.add(new_payment(order_id, f"C{secrets.token_hex(8)}")).id or 0)
        except PaymentExists as exc:
            outcomes.append(f"exists {exc.payment_id}")

    threads = [threading.Thread(target=create) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winner = repo.find_for_order(order_id)
    repo.close()

    assert winner is not None
    assert sorted(outcomes, key=str) == sorted(
        [winner.id or 0, *[f"exists {winner.id}"] * (THREADS - 1)], key=str
    )
