"""The hooks by which plugins bring their settings, their commands and their demo part."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from decimal import Decimal

import pytest

from payments_core import hookspecs
from payments_core.contributions import DemoVendor, Setting, Subcommands
from payments_core.hookspecs import hookimpl
from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_core.values import Order, Settings


class SettingsPlugin:
    def __init__(self, *settings: Setting) -> None:
        self.declared = settings

    @hookimpl
    def payments_settings(self) -> Sequence[Setting]:
        return self.declared


class CommandPlugin:
    """Adds ``payments {name} echo WORD``, which answers WORD and the setting ACME_GREETING."""

    def __init__(self, name: str = "acme") -> None:
        self.name = name
        self.ran: list[tuple[str, str | None]] = []

    def echo(self, args: argparse.Namespace, settings: Settings) -> int:
        self.ran.append((args.word, settings.get("ACME_GREETING")))
        return 7

    @hookimpl
    def payments_commands(self, commands: Subcommands) -> None:
        group = commands.add_parser(self.name, help="acme chores")
        chores = group.add_subparsers(dest="acme_command", required=True)
        echo = chores.add_parser("echo")
        echo.add_argument("word")
        echo.set_defaults(run=self.echo)


class DemoPlugin:
    def __init__(self, vendor: str, answer: bool = True) -> None:
        self.vendor = vendor
        self.answer = answer
        self.asked: list[tuple[str, str]] = []

    @hookimpl
    def payments_demo_vendor(self, public_url: str, buyer: str) -> DemoVendor | None:
        self.asked.append((public_url, buyer))
        if not self.answer:
            return None
        order = Order(id="O-1", buyer=buyer, total=Decimal("1.00"), status="CREATED")
        return DemoVendor(
            vendor=self.vendor,
            settings={f"{self.vendor.upper()}_URL": f"{public_url}/{self.vendor}"},
            orders=[order],
            mount_path=f"/{self.vendor}",
            app=_asgi_app,
        )


async def _asgi_app(scope: object, receive: object, send: object) -> None:
    return None


def _hooks(**plugins: object) -> PaymentHooks:
    pm = make_plugin_manager(load_entrypoints=False)
    for name, plugin in plugins.items():
        pm.register(plugin, name=name)
    return PaymentHooks(pm)


def _parser(hooks: PaymentHooks) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="payments")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve")
    hooks.add_commands(commands)
    return parser


def test_hook_payments_settings() -> None:
    key = Setting("ACME_API_KEY", None, "Acme's key", secret=True)
    sandbox = Setting("ACME_SANDBOX", "1", "1 for the sandbox")
    other = Setting("OTHER_URL", "https://other.example", "Other's URL")
    hooks = _hooks(
        acme=SettingsPlugin(key, sandbox), other=SettingsPlugin(other), none=SettingsPlugin()
    )

    declared = hooks.settings()

    assert sorted(declared, key=lambda s: s.name) == [key, sandbox, other]
    assert not hookspecs.payments_settings.payments_spec.get("firstresult")  # type: ignore[attr-defined]  # set by the HookspecMarker


def test_two_plugins_declaring_one_setting_is_an_error() -> None:
    hooks = _hooks(
        one=SettingsPlugin(Setting("ACME_API_KEY", None, "key")),
        two=SettingsPlugin(Setting("ACME_API_KEY", None, "the key")),
    )

    with pytest.raises(ValueError, match="two plugins declare the setting ACME_API_KEY"):
        hooks.settings()


def test_a_setting_option_drops_the_payments_prefix_only() -> None:
    assert Setting("PAYMENTS_DATABASE_TIMEOUT", "5", "").option == "--database-timeout"
    assert Setting("ACME_API_KEY", None, "").option == "--acme-api-key"


def test_hook_payments_commands() -> None:
    acme = CommandPlugin()
    parser = _parser(_hooks(acme=acme))

    args = parser.parse_args(["acme", "echo", "hello"])
    status = args.run(args, {"ACME_GREETING": "hi"})

    assert status == 7
    assert acme.ran == [("hello", "hi")]
    assert not hookspecs.payments_commands.payments_spec.get("firstresult")  # type: ignore[attr-defined]  # set by the HookspecMarker


@pytest.mark.parametrize("taken", ["serve", "acme"])
def test_a_plugin_command_with_a_taken_name_is_an_error(taken: str) -> None:
    hooks = _hooks(acme=CommandPlugin(), late=CommandPlugin(taken))

    with pytest.raises(ValueError, match=f"clashes: conflicting subparser: {taken}"):
        _parser(hooks)


def test_hook_payments_demo_vendor() -> None:
    declines = DemoPlugin("nope", answer=False)
    acme = DemoPlugin("acme")
    other = DemoPlugin("other")
    hooks = _hooks(other=other, acme=acme, declines=declines)

    demos = hooks.demo_vendors(public_url="http://127.0.0.1:8000", buyer="alice")

    assert [d.vendor for d in demos] == ["acme", "other"]  # every answer, newest first
    assert demos[0].settings == {"ACME_URL": "http://127.0.0.1:8000/acme"}
    assert [order.buyer for d in demos for order in d.orders] == ["alice", "alice"]
    assert declines.asked == other.asked == [("http://127.0.0.1:8000", "alice")]
    assert not hookspecs.payments_demo_vendor.payments_spec.get("firstresult")  # type: ignore[attr-defined]  # set by the HookspecMarker


class StoppingDemo(DemoPlugin):
    def __init__(self, vendor: str, mount_path: str) -> None:
        super().__init__(vendor)
        self.mount_path = mount_path
        self.stopped = 0

    @hookimpl
    def payments_demo_vendor(self, public_url: str, buyer: str) -> DemoVendor | None:
        return DemoVendor(
            vendor=self.vendor,
            settings={},
            orders=[],
            mount_path=self.mount_path,
            app=_asgi_app,
            stop=self.stop,
        )

    def stop(self) -> None:
        self.stopped += 1


@pytest.mark.parametrize(
    ("second", "clash"),
    [(("acme", "/other"), "vendor 'acme'"), (("other", "/acme"), "mount_path '/acme'")],
)
def test_two_demos_with_one_vendor_or_mount_path_are_an_error_and_both_stop(
    second: tuple[str, str], clash: str
) -> None:
    one, two = StoppingDemo("acme", "/acme"), StoppingDemo(*second)
    hooks = _hooks(one=one, two=two)

    with pytest.raises(ValueError, match=f"two plugins offer a demo with the {clash}"):
        hooks.demo_vendors(public_url="http://127.0.0.1:8000", buyer="alice")

    assert (one.stopped, two.stopped) == (1, 1)


def test_a_demo_without_a_plugin_that_offers_one_is_an_error() -> None:
    hooks = _hooks(declines=DemoPlugin("nope", answer=False))

    with pytest.raises(ValueError, match="the demo needs a vendor plugin"):
        hooks.demo_vendors(public_url="http://127.0.0.1:8000", buyer="alice")
