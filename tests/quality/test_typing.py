"""mypy covers the whole tree pyproject.toml names, and every ignore says why."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
# the reason follows as a second comment on the line, or is the comment line above
IGNORE = re.compile(r"#\s*type:\s*ignore\b(?P<rest>.*)$")


def _tracked_python_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [ROOT / name for name in listed.stdout.splitlines() if (ROOT / name).exists()]


def unexplained_ignores(source: str) -> list[int]:
    """Line numbers of ``type: ignore`` comments with no reason beside or above them."""
    lines = source.splitlines()
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        match = IGNORE.match(token.string) if token.type == tokenize.COMMENT else None
        if match is None:
            continue
        number = token.start[0]
        beside = "#" in match["rest"]
        above = number > 1 and lines[number - 2].lstrip().startswith("#")
        if not (beside or above):
            found.append(number)
    return found


def test_mypy_is_clean_on_everything_it_is_configured_for() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_type_ignore_gives_its_reason() -> None:
    files = _tracked_python_files()

    unexplained = {
        str(path.relative_to(ROOT)): lines
        for path in files
        if (lines := unexplained_ignores(path.read_text(encoding="utf-8")))
    }

    assert files
    assert not unexplained, unexplained


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x = f()  # type: ignore[arg-type]\n", [1]),
        ("x = f()  # type: ignore[arg-type]  # f is untyped upstream\n", []),
        ("# f is untyped upstream\nx = f()  # type: ignore[arg-type]\n", []),
        ("y = 1\nx = f()  # type: ignore\n", [2]),
        ("x = f()\n", []),
        ('s = "# type: ignore[arg-type]"\n', []),
    ],
)
def test_an_ignore_without_a_reason_is_found(source: str, expected: list[int]) -> None:
    assert unexplained_ignores(source) == expected
