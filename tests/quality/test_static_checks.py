"""The static checks CI enforces: ruff (lint and format) on the tree, mypy strict on the core."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed tool invocations on our own tree
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_ruff_finds_nothing() -> None:
    lint = _run("ruff", "check", ".", "--output-format", "concise")
    fmt = _run("ruff", "format", "--check", ".")

    assert lint.returncode == 0, lint.stdout
    assert fmt.returncode == 0, fmt.stdout


def test_mypy_strict_is_clean_on_the_core() -> None:
    result = _run("mypy", "payments_core")

    assert result.returncode == 0, result.stdout
