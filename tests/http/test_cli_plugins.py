"""The ``payments`` command takes its settings and subcommands from the installed plugins."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import pluggy
import pytest

from payments_core.contributions import Setting, Subcommands
from payments_core.fakevendor import FakeVendor
from payments_core.hookspecs import hookimpl
from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_core.values import Settings
from payments_http import cli, compose
from payments_http.settings import declared

NAME = Setting("ACME_NAME", "acme", "the vendor name Acme answers to")
TOKEN = Setting("ACME_TOKEN", None, "Acme's API token", secret=True)


class AcmePlugin:
    """A vendor named by ``ACME_NAME`` and ``payments acme show``, which prints two settings."""

    def __init__(self, *settings: Setting, command: str = "acme") -> None:
        self.declared = settings or (NAME, TOKEN)
        self.command = command
        self.seen: list[Settings] = []

    @hookimpl
    def payments_settings(self) -> Sequence[Setting]:
        return self.declared

    @hookimpl
    def payments_vendor_gateways(self, settings: Settings) -> list[FakeVendor]:
        self.seen.append(settings)
        return [FakeVendor(settings.get("ACME_NAME", "unnamed"))]

    @hookimpl
    def payments_commands(self, commands: Subcommands) -> None:
        show = commands.add_parser(self.command, help="Acme chores")
        show.add_argument("what", choices=["show"])
        show.add_argument("--database-url", dest="PAYMENTS_DATABASE_URL")
        show.set_defaults(run=self.show)

    def show(self, args: argparse.Namespace, settings: Settings) -> int:
        sys.stdout.write(f"{settings.get('ACME_NAME')} {settings.get('PAYMENTS_DATABASE_URL')}\n")
        return 3


def _with(plugin: object, *, entry_points: bool = True) -> Callable[..., pluggy.PluginManager]:
    def make(*, load_entrypoints: bool = True) -> pluggy.PluginManager:
        pm = make_plugin_manager(load_entrypoints=load_entrypoints and entry_points)
        pm.register(plugin, name="test-acme")
        return pm

    return make


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in (*declared(PaymentHooks(make_plugin_manager())), NAME, TOKEN):
        monkeypatch.delenv(setting.name, raising=False)


@pytest.fixture
def acme(monkeypatch: pytest.MonkeyPatch) -> AcmePlugin:
    plugin = AcmePlugin()
    monkeypatch.setattr(cli, "make_plugin_manager", _with(plugin))
    monkeypatch.setattr(compose, "make_plugin_manager", _with(plugin))
    return plugin


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    assert done.value.code == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.usefixtures("acme")
@pytest.mark.parametrize("command", ["serve", "reconcile"])
def test_a_plugin_setting_is_an_option_with_its_help_default_and_secrecy(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help([command, "--help"], capsys)

    assert "--acme-name VALUE ACME_NAME: the vendor name Acme answers to (default acme)" in text
    assert (
        "--acme-token VALUE ACME_TOKEN: Acme's API token; a secret: prefer the environment" in text
    )
    assert "--alipay-app-id VALUE ALIPAY_APP_ID" in text
    assert "--database-timeout VALUE PAYMENTS_DATABASE_TIMEOUT" in text


def test_a_plugin_setting_reaches_the_plugin_from_its_option_or_its_default(
    acme: AcmePlugin, capsys: pytest.CaptureFixture[str]
) -> None:
    given = cli.main(
        ["reconcile", "--database-url", "memory://", "--vendor", "x", "--acme-name", "x"]
    )
    by_default = cli.main(["reconcile", "--database-url", "memory://", "--vendor", "acme"])
    out = capsys.readouterr().out

    assert (given, by_default) == (0, 0)
    assert out.count("checked 0 attempts") == 2
    assert [seen["ACME_NAME"] for seen in acme.seen] == ["x", "acme"]


def test_a_plugin_command_runs_with_the_settings_and_its_options(
    acme: AcmePlugin, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_NAME", "from-env")
    monkeypatch.setenv("PAYMENTS_DATABASE_URL", "sqlite:///env.db")

    from_env = cli.main(["acme", "show"])
    from_option = cli.main(["acme", "show", "--database-url", "memory://"])
    out = capsys.readouterr().out

    assert (from_env, from_option) == (3, 3)
    assert out.splitlines() == ["from-env sqlite:///env.db", "from-env memory://"]


def test_a_plugin_setting_reaches_the_plugin_of_a_composed_app(acme: AcmePlugin) -> None:
    compose.build_service({"PAYMENTS_DATABASE_URL": "memory://", "PAYMENTS_VENDOR": "acme"})

    assert acme.seen[-1]["ACME_NAME"] == "acme"
    assert acme.seen[-1]["ALIPAY_GATEWAY"] == "sandbox"


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        (AcmePlugin(Setting("PAYMENTS_PORT", "1", "mine")), "PAYMENTS_PORT, which is ours"),
        (AcmePlugin(Setting("ALIPAY_APP_ID", None, "mine")), "two plugins declare the setting ALIPAY_APP_ID"),
        (AcmePlugin(Setting("PAYMENTS_WORKERS", "2", "mine")), "PAYMENTS_WORKERS clashes: conflicting option string: --workers"),
        (AcmePlugin(Setting("ACME_NAME", None, ""), Setting("ACME-NAME", None, "")), "ACME-NAME clashes: conflicting option string: --acme-name"),
        (AcmePlugin(command="db"), "conflicting subparser: db"),
        (AcmePlugin(command="serve"), "conflicting subparser: serve"),
    ],
)  # fmt: skip
def test_plugins_that_do_not_fit_together_stop_the_command_with_one_line(
    plugin: AcmePlugin,
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "make_plugin_manager", _with(plugin))

    status = cli.main(["serve", "--help"])
    err = capsys.readouterr().err

    assert status == 2
    assert err.count("\n") == 1
    assert err.startswith("payments: ")
    assert message in err


def test_without_the_plugins_their_commands_and_settings_are_absent(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "make_plugin_manager", _with(AcmePlugin(), entry_points=False))

    text = _help(["--help"], capsys)
    serve = _help(["serve", "--help"], capsys)

    assert "acme" in text
    assert not {"db", "keys", "emulator"} & set(text.split())
    assert "--acme-name" in serve
    assert "ALIPAY" not in serve
    assert "--database-timeout" not in serve


class HalfDoneCommand:
    @hookimpl
    def payments_commands(self, commands: Subcommands) -> None:
        commands.add_parser("half", help="forgot set_defaults(run=...)")


def test_a_plugin_command_that_runs_nothing_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "make_plugin_manager", _with(HalfDoneCommand()))

    status = cli.main(["half"])
    err = capsys.readouterr().err

    assert status == 2
    assert err == "payments: half: the plugin that adds it gave it nothing to run\n"
