"""Benchmark: a page of payments costs the same with 10,000 payments stored and with 1,000,000.

    python -m bench.listing [--small 10000] [--large 1000000] [--repeat 40] [--only sqlite|postgresql]

For SQLite (temporary WAL files) and PostgreSQL (temporary schemas in
``PAYMENTS_TEST_POSTGRES_URL``, skipped when unset) it bulk-loads one database with
``--small`` payments and another with ``--large`` (one attempt each, 100 payers, one
created a second), then times each kind of page through ``PaymentService.list_payments``
on both, taking turns. It prints the median (and least) cost of a page of 20 at both
sizes and the ratios large / small: a keyset page read from an index stays near 1 however many payments
lie behind it (an OFFSET page, or a filter without its index, grows with the table).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from sqlalchemy import Engine, make_url, text

from payments_core.inmemory import InMemoryOrders, SystemClock
from payments_core.listing import PaymentQuery, encode_cursor
from payments_core.payment import PaymentStatus
from payments_core.services import ADMIN, PaymentService
from payments_core.values import Caller
from payments_sqlstore import SqlPaymentRepository, make_engine, upgrade

T0: Final = datetime(2026, 1, 1, tzinfo=UTC)
PAYERS: Final = 100
CHUNK: Final = 50_000
ROOT: Final = Caller(username="root", roles={ADMIN})


# Rows are made by the database itself from a series of ids: the same rows on both, far
# faster than building them in Python (a 2-core machine loads a million in about a minute).
# Payment n: payer n % 100, created n seconds after T0; 1% INVALID, 9% PENDING, the rest
# CONFIRMED; one attempt each, its state and trade id to match.
_STATUS: Final = (
    "CASE WHEN i % 100 = 0 THEN 'INVALID' WHEN i % 10 = 0 THEN 'PENDING' ELSE 'CONFIRMED' END"
)
_LOAD: Final = {
    "payments": (
        "INSERT INTO payments (id, order_id, payer, subject, description, amount_minor,"
        " currency, vendor, status, created_at, updated_at, confirmed_at, vendor_trade_id,"
        " valid, version)"
        " SELECT i, 'o' || i, 'payer' || (i % {payers}), 'Bench', NULL, 1230, 'CNY', 'alipay',"
        " {status}, {at}, {at}, CASE WHEN {paid} THEN {at} END,"
        " CASE WHEN {paid} THEN 'T' || i END, {paid}, 2 FROM {series}"
    ),
    "attempts": (
        "INSERT INTO attempts (reference, payment_id, seq, order_string, opened_at, expires_at,"
        " state, vendor_trade_id, claimed_until, vendor)"
        " SELECT 'R' || i, i, 0, 'https://openapi.alipay.com/gateway.do?x', {at}, {expiry},"
        " CASE WHEN i % 100 = 0 THEN 'REJECTED' WHEN i % 10 = 0 THEN 'OPEN' ELSE 'PAID' END,"
        " CASE WHEN i % 10 <> 0 THEN 'T' || i END, NULL, 'alipay' FROM {series}"
    ),
}
_SQLITE: Final = {
    "series": "(WITH RECURSIVE s(i) AS (SELECT :first UNION ALL SELECT i + 1 FROM s"
    " WHERE i < :last) SELECT i FROM s)",
    # how SQLAlchemy stores a UtcDateTime on SQLite: naive UTC text with microseconds
    "at": "strftime('%Y-%m-%d %H:%M:%S', :t0, '+' || i || ' seconds') || '.000000'",
    "expiry": "strftime('%Y-%m-%d %H:%M:%S', :t0, '+' || (i + 900) || ' seconds') || '.000000'",
    "paid": "(i % 10 <> 0)",
}
_POSTGRES: Final = {
    "series": "generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS s(i)",
    "at": "(CAST(:t0 AS timestamptz) + i * interval '1 second')",
    "expiry": "(CAST(:t0 AS timestamptz) + (i + 900) * interval '1 second')",
    "paid": "(i % 10 <> 0)",
}


def _load(engine: Engine, spelling: dict[str, str], first: int, last: int) -> None:
    """Insert payments ``first`` to ``last`` (ids) and their attempts, in chunks."""
    words = spelling | {"status": _STATUS, "payers": str(PAYERS)}
    for start in range(first, last + 1, CHUNK):
        values = {"first": start, "last": min(start + CHUNK - 1, last), "t0": T0.isoformat()}
        with engine.begin() as conn:
            for template in _LOAD.values():
                conn.execute(text(template.format(**words)), values)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT setval('payments_id_seq', :last)"), {"last": last})
    # Statistics for the planner, and on PostgreSQL the visibility map too: a freshly
    # loaded table would otherwise be vacuumed by autovacuum while the pages are timed.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("payments", "attempts"):
            vacuum = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
            conn.execute(text(f"{vacuum} {table}"))


def _pages(size: int) -> dict[str, Callable[[PaymentService], object]]:
    """Each kind of page, at a database holding ``size`` payments."""
    deep = encode_cursor(PaymentQuery(limit=20), size // 100)  # 1% from the oldest end
    middle = T0 + timedelta(seconds=size // 2)
    return {
        "newest (ADMIN)": lambda s: s.list_payments(ROOT),
        "deep cursor (ADMIN)": lambda s: s.list_payments(ROOT, cursor=deep),
        "one payer": lambda s: s.list_payments(ROOT, payer="payer7"),
        "a customer's own": lambda s: s.list_payments(Caller(username="payer8")),
        "rare status": lambda s: s.list_payments(ROOT, status=PaymentStatus.INVALID),
        "one order": lambda s: s.list_payments(ROOT, order_id=f"o{size // 2}"),
        "an hour, mid-history": lambda s: s.list_payments(
            ROOT, created_from=middle, created_to=middle + timedelta(hours=1)
        ),
    }


def _costs(
    services: dict[int, PaymentService], repeat: int
) -> dict[int, dict[str, tuple[float, float]]]:
    """The median and the least seconds of each kind of page at each size.

    The sizes take turns, page by page, so that whatever else the machine does slows
    both alike; each page is read once untimed first.
    """
    pages = {size: _pages(size) for size in services}
    times: dict[int, dict[str, list[float]]] = {size: {} for size in services}
    for round_ in range(repeat + 1):
        for name in pages[min(services)]:
            for size, service in services.items():
                started = time.perf_counter()
                pages[size][name](service)
                if round_:
                    times[size].setdefault(name, []).append(time.perf_counter() - started)
    return {
        size: {name: (statistics.median(ts), min(ts)) for name, ts in by_name.items()}
        for size, by_name in times.items()
    }


Loader = tuple[str, Callable[[int, int], None]]


def run(label: str, databases: dict[int, Loader], repeat: int) -> None:
    """Load each database with its number of payments, time their pages, print the ratios."""
    services: dict[int, PaymentService] = {}
    repos = []
    try:
        for size, (url, load) in databases.items():
            started = time.perf_counter()
            load(1, size)
            print(f"{label}: {size:,} payments loaded in {time.perf_counter() - started:.1f} s")
            repo = SqlPaymentRepository.from_url(url)
            repos.append(repo)
            services[size] = PaymentService(
                repo=repo,
                vendors={},
                orders=InMemoryOrders(),
                clock=SystemClock(),
                default_vendor="-",
            )
        costs = _costs(services, repeat)
    finally:
        for repo in repos:
            repo.close()
    small, large = sorted(costs)
    print(
        f"  {'page of 20, median':<22} {small:>10,} {large:>12,}   ratio"
        f"   (best of {repeat}: {small:,} {large:,}  ratio)"
    )
    for name in costs[small]:
        (a, a_best), (b, b_best) = costs[small][name], costs[large][name]
        print(
            f"  {name:<22} {a * 1e3:8.2f} ms {b * 1e3:10.2f} ms   {b / a:5.2f}"
            f"   ({a_best * 1e3:.2f} ms {b_best * 1e3:.2f} ms  {b_best / a_best:.2f})"
        )


@contextmanager
def _sqlite() -> Iterator[Loader]:
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "listing.db")
        upgrade(f"sqlite:///{path}")
        url = f"sqlite:///{path}"
        loader = make_engine(url, timeout=600)
        try:
            yield url, lambda first, last: _load(loader, _SQLITE, first, last)
        finally:
            loader.dispose()


@contextmanager
def _postgres(base: str) -> Iterator[Loader]:
    schema = f"bench_listing_{secrets.token_hex(4)}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    loader = make_engine(rendered, timeout=600)
    try:
        upgrade(rendered)
        yield rendered, lambda first, last: _load(loader, _POSTGRES, first, last)
    finally:
        loader.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _each(
    factory: Callable[[], AbstractContextManager[Loader]], sizes: tuple[int, int]
) -> tuple[ExitStack, dict[int, Loader]]:
    stack = ExitStack()
    return stack, {size: stack.enter_context(factory()) for size in sizes}


def main() -> None:
    """Parse the arguments (others' are ignored: nox passes one list to every bench)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000, help="payments at first")
    parser.add_argument("--large", type=int, default=1_000_000, help="payments at last")
    parser.add_argument("--repeat", type=int, default=40, help="timed pages of each kind")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="one database only")
    args, _ = parser.parse_known_args()
    if not 100 <= args.small < args.large:
        parser.error("--small must be at least 100 and below --large")
    sizes = (args.small, args.large)
    if args.only != "postgresql":
        stack, databases = _each(_sqlite, sizes)
        with stack:
            run("SQLite WAL", databases, args.repeat)
    if args.only == "sqlite":
        return
    postgres = os.environ.get("PAYMENTS_TEST_POSTGRES_URL")
    if not postgres:
        print("PostgreSQL skipped: PAYMENTS_TEST_POSTGRES_URL is not set")
        return
    stack, databases = _each(lambda: _postgres(postgres), sizes)
    with stack:
        run("PostgreSQL (psycopg 3)", databases, args.repeat)


if __name__ == "__main__":
    main()
