"""The examples teams copy from keep working: the composed server and the vendor plugin."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALIPAY_")}
    return subprocess.run(  # noqa: S603 - our own examples with this interpreter
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


# the self-test as `pip install '.[server]'` leaves it: no test-only package (httpx) to import
_WITHOUT_TEST_PACKAGES = """
import runpy, sys
for name in ("httpx", "pytest", "responses"):
    sys.modules[name] = None
sys.argv = ["server.py", "--self-test"]
runpy.run_path("server.py", run_name="__main__")
"""


def test_the_composed_server_example_passes_its_self_test_without_test_packages() -> None:
    result = _run("-c", _WITHOUT_TEST_PACKAGES, cwd=EXAMPLES)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "now CONFIRMED, order PAID" in result.stdout


@pytest.fixture
def vendor_plugin_installed() -> None:
    if importlib.util.find_spec("payments_examplepay") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must install examples/vendor_plugin (the README's test command does)")
        pytest.skip("examples/vendor_plugin is not installed: pip install ./examples/vendor_plugin")


@pytest.mark.usefixtures("vendor_plugin_installed")
def test_the_third_party_vendor_plugin_passes_the_core_vendor_contract() -> None:
    plugin = EXAMPLES / "vendor_plugin"

    result = _run("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=plugin)

    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout.splitlines()[-1]


@pytest.mark.usefixtures("vendor_plugin_installed")
def test_the_third_party_vendor_plugin_is_found_through_its_entry_point() -> None:
    from payments_core.plugins import PaymentHooks, make_plugin_manager

    hooks = PaymentHooks(make_plugin_manager())

    names = hooks.vendor_gateways({"EXAMPLEPAY_SECRET": "s" * 32}).keys()

    assert "examplepay" in names


@pytest.mark.usefixtures("vendor_plugin_installed")
def test_the_installed_command_has_the_third_party_plugins_command_and_setting() -> None:
    script = Path(sys.executable).with_name("payments")

    commands = _run_script(script, "--help")
    serve = _run_script(script, "serve", "--help")

    assert "examplepay" in commands.stdout.split()
    assert "--examplepay-secret" in serve.stdout
    assert "EXAMPLEPAY_SECRET" in serve.stdout


def _run_script(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(  # noqa: S603 - our own console script
        [str(script), *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done
