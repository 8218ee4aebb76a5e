"""Benchmark: SqlPaymentRepository against plain SQLAlchemy Core on the same database.

    python bench/store.py [--n 1000] [--rounds 5]

For SQLite (a temporary WAL file) and PostgreSQL (a temporary schema in
``PAYMENTS_TEST_POSTGRES_URL``, skipped when unset) it prints inserts/s and
get-by-id/s of the repository and of hand-written Core statements writing and
reading the same rows (payment, attempt, idempotency record, status change;
read back with one join), and the ratio repository / Core. Rounds alternate
between the two so that machine noise hits both; medians are reported. Then
the repository's refunds alone: adding one (refund and its outbox row) and
claiming ten PENDING ones.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    insert,
    make_url,
    select,
    text,
)

from payments_core.money import Money
from payments_core.payment import Attempt, Payment
from payments_core.refund import Refund, RefundKind
from payments_core.values import IdempotencyClaim
from payments_sqlstore import SqlPaymentRepository, make_engine, upgrade

# What a hand-written app would declare: plain types, no conversions.
_plain = MetaData()
_payments = Table(
    "payments",
    _plain,
    *(Column(name, String) for name in ("order_id", "payer", "subject", "description")),
    Column("id", Integer, primary_key=True),
    Column("amount_minor", BigInteger),
    *(Column(name, String) for name in ("currency", "vendor", "status", "vendor_trade_id")),
    *(Column(name, DateTime(timezone=True)) for name in ("created_at", "updated_at")),
    Column("confirmed_at", DateTime(timezone=True)),
    Column("valid", Boolean),
    Column("version", Integer),
)
_attempts = Table(
    "attempts",
    _plain,
    Column("reference", String, primary_key=True),
    Column("payment_id", Integer),
    Column("seq", Integer),
    Column("order_string", String),
    Column("opened_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True)),
    Column("state", String),
    Column("vendor_trade_id", String),
    Column("vendor", String),
)
_records = Table(
    "idempotency_records",
    _plain,
    *(Column(name, String) for name in ("payer", "key", "fingerprint")),
    Column("payment_id", Integer),
)
_changes = Table(
    "status_changes",
    _plain,
    Column("id", Integer, primary_key=True),
    Column("payment_id", Integer),
    Column("previous_status", String),
    Column("current_status", String),
    Column("changed_at", DateTime(timezone=True)),
)
_INSERT_PAYMENTS = insert(_payments)
_INSERT_ATTEMPTS = insert(_attempts)
_INSERT_RECORDS = insert(_records)
_INSERT_CHANGES = insert(_changes)
_GET = (
    select(_payments, _attempts)
    .select_from(_payments.outerjoin(_attempts, _attempts.c.payment_id == _payments.c.id))
    .where(_payments.c.id == bindparam("id"))
    .order_by(_attempts.c.seq)
)


def _payment(n: int, tag: str) -> Payment:
    now = datetime.now(UTC)
    attempt = Attempt(
        reference=f"{tag}R{n}",
        order_string=f"https://openapi.alipay.com/gateway.do?out_trade_no={tag}R{n}&sign=abc",
        opened_at=now,
        expires_at=now + timedelta(minutes=15),
    )
    return Payment.start(
        order_id=f"{tag}-{n}",
        payer="bench",
        subject="Benchmark order",
        description="two boxes of tea",
        amount=Money(100012),
        vendor="alipay",
        attempt=attempt,
    )


def _core_insert(engine: Engine, payment: Payment) -> int:
    attempt = payment.attempts[0]
    with engine.begin() as conn:
        result = conn.execute(
            _INSERT_PAYMENTS,
            {
                "order_id": payment.order_id,
                "payer": payment.payer,
                "subject": payment.subject,
                "description": payment.description,
                "amount_minor": payment.amount.minor,
                "currency": payment.amount.currency,
                "vendor": payment.vendor,
                "status": payment.status.value,
                "created_at": payment.created_at,
                "updated_at": payment.updated_at,
                "confirmed_at": None,
                "vendor_trade_id": None,
                "valid": False,
                "version": 1,
            },
        )
        new_id: int = result.inserted_primary_key[0]  # type: ignore[index]  # never None after a one-row INSERT
        conn.execute(
            _INSERT_ATTEMPTS,
            {
                "reference": attempt.reference,
                "payment_id": new_id,
                "seq": 0,
                "order_string": attempt.order_string,
                "opened_at": attempt.opened_at,
                "expires_at": attempt.expires_at,
                "state": attempt.state.value,
                "vendor_trade_id": None,
                "vendor": payment.vendor,
            },
        )
        conn.execute(
            _INSERT_RECORDS,
            {
                "payer": payment.payer,
                "key": payment.order_id,
                "fingerprint": "f",
                "payment_id": new_id,
            },
        )
        conn.execute(
            _INSERT_CHANGES,
            {
                "payment_id": new_id,
                "previous_status": None,
                "current_status": "PENDING",
                "changed_at": payment.updated_at,
            },
        )
    return new_id


def _refund(payment_id: int, reference: str) -> Refund:
    return Refund.start(
        payment_id=payment_id,
        attempt=f"{reference}-attempt",
        reference=reference,
        amount=Money(100),
        reason="bench",
        kind=RefundKind.REQUESTED,
        at=datetime.now(UTC),
    )


def _alone(name: str, op: Callable[[int], object], n: int, rounds: int) -> None:
    seconds = statistics.median(_timed(op, n) for _ in range(rounds))
    print(f"  {name:<22} repository {1 / seconds:8.0f}/s ({seconds * 1e6:6.0f} µs)")


def _timed(action: Callable[[int], object], n: int) -> float:
    """Seconds per call of ``action(i)`` for i in range(n)."""
    started = time.perf_counter()
    for i in range(n):
        action(i)
    return (time.perf_counter() - started) / n


def _compare(
    name: str,
    repo_op: Callable[[int], object],
    core_op: Callable[[int], object],
    n: int,
    rounds: int,
) -> None:
    repo_times, core_times = [], []
    for _ in range(rounds):
        repo_times.append(_timed(repo_op, n))
        core_times.append(_timed(core_op, n))
    repo_s, core_s = statistics.median(repo_times), statistics.median(core_times)
    print(
        f"  {name:<22} repository {1 / repo_s:8.0f}/s ({repo_s * 1e6:6.0f} µs)"
        f"   core {1 / core_s:8.0f}/s ({core_s * 1e6:6.0f} µs)   ratio {core_s / repo_s:4.2f}"
    )


def run(label: str, url: str, core_url: str, n: int, rounds: int) -> None:
    """Benchmark one migrated database."""
    repo = SqlPaymentRepository.from_url(url)
    core = create_engine(core_url)
    reader = core.execution_options(isolation_level="AUTOCOMMIT")
    tag = secrets.token_hex(3)
    counter = iter(range(10**9))
    repo_ids: list[int] = []
    core_ids: list[int] = []

    def repo_add(_: int) -> None:
        k = next(counter)
        stored = repo.add(
            _payment(k, tag),
            idempotency=IdempotencyClaim(payer="bench", key=f"{tag}-{k}", fingerprint="f"),
        )
        repo_ids.append(stored.id or 0)

    def core_add(_: int) -> None:
        core_ids.append(_core_insert(core, _payment(next(counter), tag)))

    def repo_get(i: int) -> object:
        return repo.get(repo_ids[i % len(repo_ids)])

    def core_get(i: int) -> object:
        with core.connect() as conn:
            return conn.execute(_GET, {"id": core_ids[i % len(core_ids)]}).all()

    def core_get_autocommit(i: int) -> object:
        with reader.connect() as conn:
            return conn.execute(_GET, {"id": core_ids[i % len(core_ids)]}).all()

    def refund_add(i: int) -> object:
        return repo.add_refund(_refund(repo_ids[i % len(repo_ids)], f"{tag}F{next(counter)}"))

    def refund_claim(_: int) -> object:
        # no lease: every claim takes the same ten oldest again
        return repo.claim_due_refunds(datetime.now(UTC), limit=10, lease=timedelta(0))

    print(
        f"{label} ({n} operations x {rounds} rounds, medians; ratio = core time / repository time)"
    )
    try:
        _compare("insert (4 rows)", repo_add, core_add, n, rounds)
        _compare("get by id", repo_get, core_get, n * 2, rounds)
        _compare("get vs autocommit core", repo_get, core_get_autocommit, n * 2, rounds)
        _alone("refund add (2 rows)", refund_add, n, rounds)
        _alone("claim 10 refunds", refund_claim, n, rounds)
    finally:
        repo.close()
        core.dispose()


@contextmanager
def _sqlite() -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)  # leaves the file in WAL mode, which plain Core then uses too
        yield url, url


@contextmanager
def _postgres(base: str) -> Iterator[tuple[str, str]]:
    schema = f"bench_{secrets.token_hex(4)}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    try:
        upgrade(rendered)
        yield rendered, rendered
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def main() -> None:
    """Parse the arguments and run both databases."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="operations per round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    args = parser.parse_args()
    with _sqlite() as (url, core_url):
        run("SQLite WAL", url, core_url, args.n, args.rounds)
    postgres = os.environ.get("PAYMENTS_TEST_POSTGRES_URL")
    if not postgres:
        print("PostgreSQL skipped: PAYMENTS_TEST_POSTGRES_URL is not set")
        return
    with _postgres(postgres) as (url, core_url):
        run("PostgreSQL (psycopg 3)", url, core_url, args.n // 2, args.rounds)


if __name__ == "__main__":
    main()
