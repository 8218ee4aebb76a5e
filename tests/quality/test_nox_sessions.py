"""Every collected test runs in some nox session.

The sessions in noxfile.py are run against a recording stand-in for ``nox.Session``, so
helpers, loops and markers count exactly as nox would run them; pytest itself then collects
what each recorded ``pytest`` command selects, and the union must be the whole suite.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import nox.registry
import pytest

ROOT = Path(__file__).parents[2]
PYTEST_PREFIXES = (("pytest",), ("python", "-m", "pytest"))


class RecordingSession:
    """Stands in for ``nox.Session``: remembers each command, runs nothing."""

    posargs: Sequence[str] = ()

    def __init__(self) -> None:
        self.commands: list[tuple[str, ...]] = []

    def run(self, *args: str, **_: object) -> None:
        self.commands.append(args)

    def install(self, *_: str, **__: object) -> None:
        """Installing is not selecting: nothing to record."""


def _session_commands() -> dict[str, list[tuple[str, ...]]]:
    nox.registry.reset()
    spec = importlib.util.spec_from_file_location("noxfile", ROOT / "noxfile.py")
    assert spec is not None
    assert spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    commands = {}
    for name, func in nox.registry.get().items():
        session = RecordingSession()
        func(session)
        commands[name] = session.commands
    nox.registry.reset()
    return commands


def _pytest_arguments(command: tuple[str, ...]) -> tuple[str, ...] | None:
    for prefix in PYTEST_PREFIXES:
        if command[: len(prefix)] == prefix:
            return command[len(prefix) :]
    return None


def _collect_all(selections: Iterable[tuple[str, ...]]) -> list[set[str]]:
    """The test ids each argument list selects, collected by pytest in parallel subprocesses."""
    base = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    processes = [
        subprocess.Popen(  # noqa: S603 - pytest on our own tree with this interpreter
            [*base, *arguments], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for arguments in selections
    ]
    collected = []
    for arguments, process in zip(selections, processes, strict=True):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, (
            f"pytest {' '.join(arguments)} failed to collect:\n{out}{err}"
        )
        collected.append({line for line in out.splitlines() if "::" in line})
    return collected


def test_every_collected_test_is_selected_by_some_nox_session() -> None:
    commands = _session_commands()
    selections = [
        arguments
        for session in commands.values()
        for command in session
        if (arguments := _pytest_arguments(command)) is not None
    ]

    whole, *selected = _collect_all([(), *selections])
    orphans = whole - set().union(*selected)

    by_module = Counter(test_id.split("::")[0] for test_id in orphans)
    assert whole, "the whole suite collected nothing"
    assert not by_module, (
        f"tests that no nox session runs (module: count): {dict(sorted(by_module.items()))}"
    )


@pytest.mark.parametrize(
    ("command", "arguments"),
    [(("pytest", "-m", "e2e"), ("-m", "e2e")), (("python", "-m", "pytest", "tests"), ("tests",))],
)
def test_a_pytest_command_is_recognised_either_way_it_is_spelled(
    command: tuple[str, ...], arguments: tuple[str, ...]
) -> None:
    assert _pytest_arguments(command) == arguments


def test_other_commands_are_not_taken_for_pytest() -> None:
    assert _pytest_arguments(("python", "-m", "bench.http")) is None
    assert _pytest_arguments(("ruff", "check", ".")) is None
