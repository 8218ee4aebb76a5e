"""A database that cannot be reached at start-up is one line: the setting, where, why; no password."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from payments_core.errors import StoreUnavailable
from payments_http import cli
from payments_sqlstore._startup import naming_the_database
from payments_sqlstore.plugin import payments_payment_repository

pytestmark = pytest.mark.integration
PASSWORD = "hunter2-not-for-logs"  # noqa: S105 - a password that must never be shown


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_db_upgrade_into_a_missing_folder_names_the_file_and_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "no-such-folder" / "payments.db"

    status = cli.main(["db", "upgrade", "--database-url", f"sqlite:///{database}"])
    _, err = capsys.readouterr()

    assert status == 2
    assert err == (
        f"payments: PAYMENTS_DATABASE_URL: the database file {database} cannot be reached:"
        f" the folder {database.parent} does not exist\n"
    )


def test_db_upgrade_against_a_closed_postgres_port_names_host_and_reason_not_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = _closed_port()
    url = f"postgresql+psycopg://payments:{PASSWORD}@127.0.0.1:{port}/shop"

    status = cli.main(["db", "upgrade", "--database-url", url])
    _, err = capsys.readouterr()

    assert status == 2
    assert err.count("\n") == 1
    assert err.startswith(
        f"payments: PAYMENTS_DATABASE_URL: the database at 127.0.0.1:{port}/shop cannot be reached: "
    )
    assert "refused" in err
    assert PASSWORD not in err


def test_serve_and_reconcile_compose_the_store_through_the_same_words(tmp_path: Path) -> None:
    database = tmp_path / "gone" / "payments.db"

    with pytest.raises(StoreUnavailable) as raised:
        payments_payment_repository(f"sqlite:///{database}", {})

    assert str(raised.value) == (
        f"PAYMENTS_DATABASE_URL: the database file {database} cannot be reached:"
        f" the folder {database.parent} does not exist"
    )


def test_the_driver_s_words_lose_the_password_and_stay_on_one_line() -> None:
    url = f"postgresql+psycopg://payments:{PASSWORD}@db.internal:5432/shop"
    words = f"FATAL: no\n  password {PASSWORD} for\tyou"

    with pytest.raises(StoreUnavailable) as raised, naming_the_database(url):
        raise StoreUnavailable("the payment store is unavailable") from OSError(words)

    assert str(raised.value) == (
        "PAYMENTS_DATABASE_URL: the database at db.internal:5432/shop cannot be reached:"
        " FATAL: no password *** for you"
    )
