"""What the sqlstore plugin brings besides its repository: two settings and ``db upgrade``."""

from __future__ import annotations

from pathlib import Path

import pluggy
import pytest

from payments_core.fakevendor import FakeVendor
from payments_core.hookspecs import hookimpl
from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_core.values import Settings
from payments_http import cli, compose
from payments_sqlstore import current_revision, head_revision


class _FakeVendorPlugin:
    @hookimpl
    def payments_vendor_gateways(self, settings: Settings) -> list[FakeVendor]:
        return [FakeVendor()]


def _with_fake_vendor(*, load_entrypoints: bool = True) -> pluggy.PluginManager:
    pm = make_plugin_manager(load_entrypoints=load_entrypoints)
    pm.register(_FakeVendorPlugin(), name="test-fake-vendor")
    return pm


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "PAYMENTS_DATABASE_URL",
        "PAYMENTS_DATABASE_TIMEOUT",
        "PAYMENTS_DATABASE_POOL_SIZE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_the_database_settings_are_declared_with_their_defaults() -> None:
    declared = {s.name: s.default for s in PaymentHooks(make_plugin_manager()).settings()}

    assert declared["PAYMENTS_DATABASE_TIMEOUT"] == "5"
    assert declared["PAYMENTS_DATABASE_POOL_SIZE"] == "5"


@pytest.mark.parametrize(
    ("option", "named"),
    [("--database-timeout", "PAYMENTS_DATABASE_TIMEOUT"), ("--database-pool-size", "PAYMENTS_DATABASE_POOL_SIZE")],
)  # fmt: skip
def test_a_database_setting_given_as_an_option_reaches_the_plugin(
    option: str,
    named: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(compose, "make_plugin_manager", _with_fake_vendor)
    url = f"sqlite:///{tmp_path / 'p.db'}"
    argv = ["reconcile", "--vendor", "fake", "--database-url", url]

    refused = cli.main([*argv, option, "0"])
    _, err = capsys.readouterr()
    accepted = cli.main([*argv, option, "2"])

    assert refused == 2
    assert err == f"payments: {named} must be greater than 0\n"
    assert accepted == 0


def test_db_upgrade_reads_the_url_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("PAYMENTS_DATABASE_URL", url)

    status = cli.main(["db", "upgrade"])

    assert status == 0
    assert capsys.readouterr().out == f"database schema at revision {head_revision()}\n"
    assert current_revision(url) == head_revision()


def test_db_upgrade_of_memory_has_nothing_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["db", "upgrade", "--database-url", "memory://"])

    assert status == 0
    assert capsys.readouterr().out == "memory:// has no schema to upgrade\n"
