"""Benchmark: a page of payments costs the same with 10,000 payments stored and with 1,000,000.

    python -m bench.listing [--small 10000] [--large 1000000] [--repeat 40]

For SQLite (a temporary WAL file) and PostgreSQL (a temporary schema in
``PAYMENTS_TEST_POSTGRES_URL``, skipped when unset) it bulk-loads ``--small`` payments
(one attempt each, 100 payers, one created a second), times each kind of page through
``PaymentService.list_payments``, loads up to ``--large`` and times them again. It prints
the median cost of a page of 20 at both sizes and the ratio large / small: a keyset page
read from an index stays near 1 however many payments lie behind it (an OFFSET page, or a
filter without its index, grows with the table).
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
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('payments_id_seq', :last)"), {"last": last})
        conn.execute(text("ANALYZE"))


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


def _cost(service: PaymentService, page: Callable[[PaymentService], object], repeat: int) -> float:
    """The median seconds of one page, after one warm-up read."""
    page(service)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        page(service)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(label: str, url: str, load: Callable[[int, int], None], args: argparse.Namespace) -> None:
    """Load, time, load more, time again; print both and their ratios."""
    repo = SqlPaymentRepository.from_url(url)
    service = PaymentService(
        repo=repo, vendors={}, orders=InMemoryOrders(), clock=SystemClock(), default_vendor="-"
    )
    costs: dict[int, dict[str, float]] = {}
    try:
        loaded = 0
        for size in (args.small, args.large):
            started = time.perf_counter()
            load(loaded + 1, size)
            took = time.perf_counter() - started
            print(f"{label}: {size:,} payments stored ({size - loaded:,} loaded in {took:.1f} s)")
            loaded = size
            costs[size] = {
                name: _cost(service, page, args.repeat) for name, page in _pages(size).items()
            }
    finally:
        repo.close()
    print(f"  {'page of 20':<22} {args.small:>10,} {args.large:>12,}   ratio")
    for name in costs[args.small]:
        small, large = costs[args.small][name], costs[args.large][name]
        print(f"  {name:<22} {small * 1e3:8.2f} ms {large * 1e3:10.2f} ms   {large / small:5.2f}")


@contextmanager
def _sqlite() -> Iterator[tuple[str, Callable[[int, int], None]]]:
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
def _postgres(base: str) -> Iterator[tuple[str, Callable[[int, int], None]]]:
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


def main() -> None:
    """Parse the arguments (others' are ignored: nox passes one list to every bench)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000, help="payments at first")
    parser.add_argument("--large", type=int, default=1_000_000, help="payments at last")
    parser.add_argument("--repeat", type=int, default=40, help="timed pages of each kind")
    args, _ = parser.parse_known_args()
    if not 100 <= args.small < args.large:
        parser.error("--small must be at least 100 and below --large")
    with _sqlite() as (url, load):
        run("SQLite WAL", url, load, args)
    postgres = os.environ.get("PAYMENTS_TEST_POSTGRES_URL")
    if not postgres:
        print("PostgreSQL skipped: PAYMENTS_TEST_POSTGRES_URL is not set")
        return
    with _postgres(postgres) as (url, load):
        run("PostgreSQL (psycopg 3)", url, load, args)


if __name__ == "__main__":
    main()
