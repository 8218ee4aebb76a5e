"""The pre-commit hooks are ruff from the environment: the same checks as lint, no downloads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[2]
CONFIG = ROOT / ".pre-commit-config.yaml"


def _hooks() -> list[dict[str, object]]:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    return [hook for repo in config["repos"] for hook in repo["hooks"]]


def test_pre_commit_accepts_the_configuration() -> None:
    result = subprocess.run(  # noqa: S603 - pre-commit on our own file with this interpreter
        [sys.executable, "-m", "pre_commit", "validate-config", str(CONFIG)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_hook_is_local_so_installing_the_hooks_fetches_nothing() -> None:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))

    assert {repo["repo"] for repo in config["repos"]} == {"local"}
    assert {hook["language"] for hook in _hooks()} == {"system"}


def test_the_hooks_run_ruff_check_and_ruff_format() -> None:
    commands = {str(hook["entry"]).split()[1] for hook in _hooks()}

    assert {str(hook["entry"]).split()[0] for hook in _hooks()} == {"ruff"}
    assert commands == {"check", "format"}
