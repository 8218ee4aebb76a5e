"""The ``payments`` command: one clear line for a bad setting, keys, db upgrade, reconcile."""

from __future__ import annotations

import stat
import subprocess
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pluggy
import pytest

from payments_core.fakevendor import FakeMode, FakeVendor
from payments_core.hookspecs import hookimpl
from payments_core.inmemory import InMemoryOrders
from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_core.values import Caller, Order, Settings
from payments_http import cli, compose
from payments_http.settings import declared
from tests.http.conftest import SECRET

SECRET_LOOKING = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7-not-a-key"  # noqa: S105 - looks like a key on purpose


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for setting in declared(PaymentHooks(make_plugin_manager())):
        monkeypatch.delenv(setting.name, raising=False)
    monkeypatch.chdir(tmp_path)


def run(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["serve"], "PAYMENTS_JWT_SECRET"),
        (["serve", "--jwt-secret", "short"], "PAYMENTS_JWT_SECRET"),
        (["serve", "--jwt-secret", SECRET, "--port", "http"], "PAYMENTS_PORT"),
        (["serve", "--jwt-secret", SECRET, "--checkout-ttl", "-5"], "PAYMENTS_CHECKOUT_TTL"),
        (["serve", "--jwt-secret", SECRET, "--orders-url", "ftp://x"], "PAYMENTS_ORDERS_URL"),
        (["serve", "--jwt-secret", SECRET, "--reconcile-interval", "soon"], "PAYMENTS_RECONCILE_INTERVAL"),
        (["serve", "--jwt-secret", SECRET], "PAYMENTS_VENDOR"),
        (["serve", "--jwt-secret", SECRET, "--alipay-app-id", "2021"], "ALIPAY_PRIVATE_KEY"),
        (
            ["serve", "--jwt-secret", SECRET, "--alipay-app-id", "2021",
             "--alipay-private-key", SECRET_LOOKING, "--alipay-public-key", SECRET_LOOKING],
            "ALIPAY_PRIVATE_KEY",
        ),
        (["reconcile", "--vendor", "nobody", "--database-url", "memory://"], "PAYMENTS_VENDOR"),
    ],
)  # fmt: skip
def test_a_bad_setting_is_one_line_naming_it(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(argv, capsys)

    assert status == 2
    assert err.count("\n") == 1
    assert named in err
    assert SECRET_LOOKING not in err
    assert SECRET not in err
    assert "Traceback" not in err


def test_an_unknown_database_url_names_the_setting(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compose, "make_plugin_manager", _fake_plugins(FakeVendor()))

    status, _, err = run(
        ["reconcile", "--vendor", "fake", "--database-url", "nosuch://user:pw@host/db"], capsys
    )

    assert status == 2
    assert "PAYMENTS_DATABASE_URL" in err
    assert "pw" not in err


def test_the_installed_command_reports_without_a_traceback(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("payments")

    done = subprocess.run(  # noqa: S603 - our own console script
        [str(script), "serve", "--port", "0x50", "--jwt-secret", SECRET],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )

    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "payments: PAYMENTS_PORT must be a whole number from 1 to 65535"
    ]


def test_keys_generate_writes_a_pair_and_never_prints_the_private_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(["keys", "generate", "--out", str(tmp_path / "k")], capsys)

    assert status == 0
    private = tmp_path / "k" / "app_private_key.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert "PRIVATE KEY" in private.read_text()
    bare = (tmp_path / "k" / "app_public_key.txt").read_text().strip()
    assert bare in out
    assert "BEGIN PRIVATE KEY" not in out
    from payments_alipay.keys import load_private_key, load_public_key

    assert load_private_key(f"@{private}").key_size == 2048
    assert load_public_key(bare).key_size == 2048


def test_keys_generate_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["keys", "generate", "--out", str(tmp_path)], capsys)

    status, _, err = run(["keys", "generate", "--out", str(tmp_path)], capsys)

    assert status == 2
    assert "exists" in err


def test_db_upgrade_migrates_a_sqlite_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"

    status, out, _ = run(["db", "upgrade", "--database-url", url], capsys)

    assert status == 0
    assert "revision" in out


def _fake_plugins(vendor: FakeVendor) -> object:
    class Plugin:
        @hookimpl
        def payments_vendor_gateways(self, settings: Settings) -> list[FakeVendor]:
            return [vendor]

    def make(*, load_entrypoints: bool = True) -> pluggy.PluginManager:
        pm = make_plugin_manager(load_entrypoints=load_entrypoints)
        pm.register(Plugin(), name="test-fake-vendor")
        return pm

    return make


def test_reconcile_prints_a_summary_and_fails_when_an_attempt_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    vendor = FakeVendor()
    monkeypatch.setattr(compose, "make_plugin_manager", _fake_plugins(vendor))
    url = f"sqlite:///{tmp_path / 'r.db'}"
    orders = InMemoryOrders(
        Order(id=f"o{n}", buyer="al", total=Decimal("1.00"), status="CREATED") for n in (1, 2)
    )
    service, _ = compose.build_service(
        {"PAYMENTS_DATABASE_URL": url, "PAYMENTS_VENDOR": "fake"}, orders=orders
    )
    customer = Caller(username="al", roles={"CUSTOMER"})
    argv = ["reconcile", "--vendor", "fake", "--database-url", url]
    service.create(customer, order_id="o1", subject="s")

    fine = run(argv, capsys)
    service.create(customer, order_id="o2", subject="s")
    vendor.mode = FakeMode.DOWN
    failed = run(argv, capsys)

    assert fine[0] == 0
    assert fine[1] == (
        "checked 1 attempts: no changes, 0 failed; "
        "0 refunds: 0 sent, 0 succeeded, 0 failed, 0 errors\n"
    )
    assert failed[0] == 1
    assert "1 failed" in failed[1]


def test_a_bad_log_level_in_the_environment_is_one_line_naming_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYMENTS_LOG_LEVEL", "loud")

    status, _, err = run(["serve"], capsys)

    assert status == 2
    assert (
        err.strip()
        .splitlines()[-1]
        .endswith("PAYMENTS_LOG_LEVEL must be one of debug, info, warning")
    )
    assert "Traceback" not in err
