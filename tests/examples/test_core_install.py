"""The base install is the core alone: it embeds, and it pulls in no adapter's library."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
# what the base install would bring if the adapters were not extras
ADAPTER_LIBRARIES = ("starlette", "uvicorn", "sqlalchemy", "alembic", "cryptography", "requests")
_CHECK = f"""
import importlib.util
import payments_core
from payments_core.plugins import make_plugin_manager
present = [name for name in {ADAPTER_LIBRARIES!r} if importlib.util.find_spec(name)]
print("present:", present)
print("unavailable:", sorted(p.name for p in make_plugin_manager().unavailable))
"""


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run(  # noqa: S603 - a venv of our own, our own sources
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _copy_of_the_sources(target: Path) -> Path:
    """The files git would commit (new ones too), so the build sees what a clone has."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for name in listed.stdout.splitlines():
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.mark.integration
def test_the_base_install_embeds_the_core_without_the_adapters(tmp_path: Path) -> None:
    sources = _copy_of_the_sources(tmp_path / "payments")
    venv = tmp_path / "venv"
    python, pip = venv / "bin" / "python", venv / "bin" / "pip"

    created = _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    installed = _run(pip, "install", "-q", sources, cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    check = _run(python, "-c", _CHECK, cwd=tmp_path)
    embed = _run(python, sources / "examples" / "embed_core.py", cwd=tmp_path)
    command = _run(venv / "bin" / "payments", "serve", "--demo", cwd=tmp_path)

    assert check.returncode == 0, check.stderr
    assert check.stdout.splitlines() == [
        "present: []",
        "unavailable: ['alipay', 'sqlstore', 'wechatpay']",
    ]
    assert embed.returncode == 0, embed.stdout + embed.stderr
    assert "CONFIRMED" in embed.stdout
    assert command.returncode == 2
    assert re.fullmatch(
        r"payments: \w+ is not installed: pip install 'payments\[server\]'\n", command.stderr
    )
