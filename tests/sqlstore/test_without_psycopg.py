"""SQLite needs nothing of the optional ``postgres`` extra: psycopg is imported for PostgreSQL only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# psycopg made unimportable, as in `pip install .` without the `postgres` extra
_SCRIPT = """
import sys
sys.modules["psycopg"] = None
from payments_core.inmemory import FrozenClock
from payments_core.testing import new_payment
from payments_sqlstore import SqlPaymentRepository
from payments_sqlstore.schema import upgrade
url = "sqlite:///" + sys.argv[1]
upgrade(url)
repo = SqlPaymentRepository.from_url(url)
stored = repo.add(new_payment(FrozenClock()))
assert repo.get(stored.id) == stored
print("stored", stored.id)
"""


def test_a_sqlite_repository_works_without_psycopg(tmp_path: Path) -> None:
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _SCRIPT, str(tmp_path / "payments.db")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "stored 1"


# `payments COMMAND` with psycopg unimportable; the URL names PostgreSQL on a closed port,
# so nothing would be reached even with the driver.
_CLI = """
import sys
sys.modules["psycopg"] = None
from payments_http.cli import main
sys.exit(main(sys.argv[1:]))
"""
_DATA = Path(__file__).resolve().parents[1] / "alipay" / "data"


@pytest.mark.parametrize("command", [["serve"], ["reconcile"], ["db", "upgrade"]])
@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+psycopg"])
def test_a_postgresql_url_without_psycopg_stops_the_command_with_one_line(
    tmp_path: Path, command: list[str], scheme: str
) -> None:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("PAYMENTS_", "ALIPAY_"))}
    env = kept | {
        "PAYMENTS_DATABASE_URL": f"{scheme}://postgres@127.0.0.1:9/payments",
        "PAYMENTS_ORDERS_URL": "http://127.0.0.1:9",
        "PAYMENTS_JWT_SECRET": "s" * 40,
        "PAYMENTS_PORT": "9",
        "ALIPAY_APP_ID": "2021000000000001",
        "ALIPAY_PRIVATE_KEY": f"@{_DATA / 'app_private_key_pkcs8.pem'}",
        "ALIPAY_PUBLIC_KEY": f"@{_DATA / 'alipay_platform_public_key.pem'}",
    }

    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _CLI, *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env=env,
    )

    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert "PAYMENTS_DATABASE_URL" in done.stderr
    assert "pip install '.[postgres]'" in done.stderr
    assert "Traceback" not in done.stderr
