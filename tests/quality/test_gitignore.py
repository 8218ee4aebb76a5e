"""What the commands write into the working folder never shows up in ``git status``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize(
    "written",
    [
        "payments.db",  # PAYMENTS_DATABASE_URL's default
        "payments.db-wal",
        "payments.db-shm",
        "payments.db-writer.lock",  # the SQLite store's writer lock beside its file
        "payments-demo.db",  # payments serve --demo
        "payments-demo.db-writer.lock",
    ],
)
def test_a_file_the_commands_write_is_ignored(written: str) -> None:
    ignored = subprocess.run(  # noqa: S603 - git on our own tree, names from this file
        ["git", "check-ignore", "--no-index", "-q", written],  # noqa: S607
        cwd=ROOT,
        check=False,
    )

    assert ignored.returncode == 0, f"{written} is not in .gitignore"


def test_a_source_file_is_not_ignored() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", "payments_core/payment.py"],  # noqa: S607
        cwd=ROOT,
        check=False,
    )

    assert ignored.returncode == 1
