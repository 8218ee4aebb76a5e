"""An unreachable, locked or lost database is StoreUnavailable in bounded time, never a hang."""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from attrs import evolve
from sqlalchemy import make_url, text

from payments_core.errors import StoreUnavailable
from payments_core.payment import Payment
from payments_core.ports import Closeable, Pingable
from payments_sqlstore import SqlPaymentRepository, make_engine
from tests.sqlstore._worker import new_payment

pytestmark = pytest.mark.integration


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail when the block takes longer than ``seconds``."""
    started = time.monotonic()
    yield
    assert time.monotonic() - started < seconds


def _payment(tag: str = "u") -> Payment:
    token = secrets.token_hex(4)
    return new_payment(f"{tag}-{token}", f"{tag.upper()}{token}")


@pytest.mark.postgres
def test_a_refused_postgres_connection_is_store_unavailable(postgres_url: str) -> None:
    url = make_url(postgres_url).set(port=1).render_as_string(hide_password=False)
    repo = SqlPaymentRepository.from_url(url, timeout=2)

    with within(5), pytest.raises(StoreUnavailable):
        repo.get(1)
    repo.close()


def test_an_unanswering_postgres_host_is_store_unavailable_in_bounded_time() -> None:
    repo = SqlPaymentRepository.from_url("postgresql+psycopg://u@10.255.255.1:5432/x", timeout=2)

    with within(8), pytest.raises(StoreUnavailable):
        repo.add(_payment())
    repo.close()


@pytest.mark.postgres
def test_a_row_locked_too_long_is_store_unavailable_and_nothing_is_written(pg_url: str) -> None:
    repo = SqlPaymentRepository.from_url(pg_url, timeout=1)
    stored = repo.add(_payment())
    blocker = make_engine(pg_url)
    with blocker.begin() as conn:
        conn.execute(text("SELECT id FROM payments WHERE id = :id FOR UPDATE"), {"id": stored.id})

        with within(4), pytest.raises(StoreUnavailable):
            repo.save(evolve(stored, subject="blocked"), previous=stored)
    blocker.dispose()

    assert repo.get(stored.id or 0) == stored
    repo.close()


@pytest.mark.postgres
def test_a_lost_connection_is_replaced_for_reads(pg_url: str) -> None:
    repo = SqlPaymentRepository.from_url(pg_url, pool_size=1)
    stored = repo.add(_payment())
    with repo.engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()

    assert repo.get(stored.id or 0) == stored
    repo.close()


def test_a_sqlite_write_lock_held_too_long_is_store_unavailable(sqlite_url: str) -> None:
    repo = SqlPaymentRepository.from_url(sqlite_url, timeout=0.5)
    payment = _payment()
    holder = sqlite3.connect(make_url(sqlite_url).database or "", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    with within(3), pytest.raises(StoreUnavailable):
        repo.add(payment)
    holder.execute("ROLLBACK")
    holder.close()

    assert repo.find_for_order(payment.order_id) is None
    repo.close()


def test_concurrent_sqlite_writers_never_see_database_is_locked(sqlite_url: str) -> None:
    repo = SqlPaymentRepository.from_url(sqlite_url)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def write() -> None:
        start.wait()
        for _ in range(25):
            try:
                stored = repo.add(_payment("w"))
                repo.save(evolve(stored, subject="again"), previous=stored)
            except Exception as exc:  # every failure is collected and reported
                errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(repo.pending_changes(limit=1000)) == 200
    repo.close()


def test_an_unusable_url_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PAYMENTS_DATABASE_URL"):
        make_engine(f"mysql://{tmp_path}")


@pytest.mark.parametrize(
    "url",
    [
        "nonsense",
        "postgresql://nobody:hunter2@[::1/none",  # an unclosed IPv6 host: a bad port
        "postgresql+psycopg2://nobody:hunter2@127.0.0.1/none",  # a driver we do not ship
        "sqlite+aiosqlite:///payments.db",
    ],
)
def test_a_url_we_cannot_use_is_one_line_naming_the_setting_and_no_password(url: str) -> None:
    with pytest.raises(ValueError, match=r"^PAYMENTS_DATABASE_URL") as raised:
        make_engine(url)

    assert "hunter2" not in str(raised.value)
    assert "\n" not in str(raised.value)


def test_the_repository_is_pingable_and_closeable_by_type(repo: SqlPaymentRepository) -> None:
    repo.ping()

    assert isinstance(repo, Pingable)
    assert isinstance(repo, Closeable)


def test_a_ping_of_an_unreachable_database_is_store_unavailable() -> None:
    repo = SqlPaymentRepository.from_url("postgresql+psycopg://u@127.0.0.1:1/x", timeout=2)

    with within(5), pytest.raises(StoreUnavailable):
        repo.ping()
    repo.close()
