"""``payments`` without an extra it needs: one line naming what to install, exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# the console script's entry, with MODULE made unimportable as if its extra were not installed
_COMMAND = """
import sys
for blocked in sys.argv[1].split(","):
    if blocked:
        sys.modules[blocked] = None
sys.argv = ["payments", *sys.argv[2:]]
from payments_command import main
sys.exit(main())
"""


def _payments(
    blocked: str, *argv: str, cwd: Path, path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYMENTS_", "ALIPAY_"))}
    env["PAYMENTS_PORT"] = "0"  # unusable: serve stops at it when nothing is missing
    if path is not None:
        env["PYTHONPATH"] = str(path)
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _COMMAND, blocked, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
        env=env,
    )


@pytest.mark.parametrize(
    ("blocked", "extra"),
    [
        ("starlette", "server"),  # payments_http itself
        ("uvicorn", "server"),  # imported when serve starts
        ("cryptography", "server"),  # the alipay plugin
        ("sqlalchemy", "server"),  # the sqlstore plugin
    ],
)
def test_a_missing_extra_is_named_in_one_line(tmp_path: Path, blocked: str, extra: str) -> None:
    done = _payments(blocked, "serve", "--demo", cwd=tmp_path)

    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert blocked in done.stderr
    assert f"pip install 'payments[{extra}]'" in done.stderr
    assert not list(tmp_path.iterdir())  # nothing was started or written


def test_without_anything_missing_the_same_command_gets_past_the_imports(tmp_path: Path) -> None:
    done = _payments("", "serve", "--demo", cwd=tmp_path)

    assert done.returncode == 2, done.stderr[-2000:]
    assert "PAYMENTS_PORT" in done.stderr
    assert "pip install" not in done.stderr


def test_a_third_party_plugin_missing_its_dependency_is_named(tmp_path: Path) -> None:
    site = tmp_path / "site"
    info = site / "acmepay-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acmepay\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[payments]\nacmepay = acmepay_plugin\n")
    (site / "acmepay_plugin.py").write_text("import acme_sdk\n")

    done = _payments("", "hooks", "list", cwd=tmp_path, path=site)

    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr == (
        "payments: the acmepay plugin needs acme_sdk, which is not installed:"
        " reinstall acmepay with its dependencies\n"
    )
