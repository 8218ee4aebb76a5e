"""SQLite needs nothing of the optional ``postgres`` extra: psycopg is imported for PostgreSQL only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
