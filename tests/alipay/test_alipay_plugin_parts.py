"""What the Alipay plugin brings besides its gateway: settings, commands, the demo's emulator."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from payments_alipay import AlipayGateway, AlipaySettings
from payments_alipay.emulator import AlipayEmulator, ServerThread
from payments_core.contributions import DemoVendor
from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_core.testing import unique
from payments_core.values import TradeStatus
from payments_http import cli

Scope = MutableMapping[str, Any]
Asgi = Callable[[Scope, Any, Any], Awaitable[None]]


def test_the_alipay_settings_are_declared_by_the_plugin_found_through_its_entry_point() -> None:
    declared = {s.name: s for s in PaymentHooks(make_plugin_manager()).settings()}

    alipay = {name for name in declared if name.startswith("ALIPAY_")}

    assert alipay == {
        "ALIPAY_APP_ID",
        "ALIPAY_PRIVATE_KEY",
        "ALIPAY_PUBLIC_KEY",
        "ALIPAY_GATEWAY",
        "ALIPAY_SELLER_ID",
        "ALIPAY_RETURN_URL",
        "ALIPAY_PRODUCT",
        "ALIPAY_TIMEOUT",
    }
    assert [n for n in sorted(alipay) if declared[n].secret] == ["ALIPAY_PRIVATE_KEY"]
    defaults = {name: declared[name].default for name in alipay if declared[name].default}
    assert defaults == {
        "ALIPAY_GATEWAY": "sandbox",
        "ALIPAY_PRODUCT": "page",
        "ALIPAY_TIMEOUT": "12",
    }


def _alipay_part(public_url: str, buyer: str) -> DemoVendor:
    """The Alipay plugin's answer to the demo hook; the other plugins' parts are stopped."""
    parts = PaymentHooks(make_plugin_manager()).demo_vendors(public_url=public_url, buyer=buyer)
    for other in parts:
        if other.vendor != "alipay":
            other.stop()
    return next(part for part in parts if part.vendor == "alipay")


class _Later:
    """An ASGI app to serve once the server's own URL is known."""

    def __init__(self) -> None:
        self.app: Asgi | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


def test_the_demo_part_is_an_emulator_its_settings_reach_with_signed_calls() -> None:
    later = _Later()
    with ServerThread(later) as server:
        part = _alipay_part(public_url=server.url, buyer="carol")
        later.app = Starlette(routes=[Mount(part.mount_path, app=part.app)])
        settings = AlipaySettings.from_settings(
            {**part.settings, "PAYMENTS_PUBLIC_URL": server.url}
        )
        gateway = AlipayGateway(settings)
        try:
            report = gateway.query(unique("D"))
        finally:
            gateway.close()
            part.stop()

    assert part.vendor == "alipay"
    assert settings.gateway_url == f"{server.url}/emulator/gateway.do"
    assert settings.seller_id is not None
    assert report.status is TradeStatus.UNPAID
    assert any(f"{server.url}/emulator/control/trades" in note for note in part.notes)


def test_the_demo_orders_are_the_buyers_but_one() -> None:
    part = _alipay_part(public_url="http://127.0.0.1:8000", buyer="carol")
    part.stop()

    theirs = {o.id: o.payable for o in part.orders if o.buyer == "carol"}
    assert theirs == {"DEMO-1001": True, "DEMO-1002": True, "DEMO-1003": True, "DEMO-1004": False}
    assert [o.id for o in part.orders if o.buyer != "carol"] == ["DEMO-2001"]
    assert {o.currency for o in part.orders} == {"CNY"}
    assert isinstance(part.app, Starlette)
    assert isinstance(part.app.state.emulator, AlipayEmulator)


def test_payments_emulator_is_a_subcommand_with_the_emulator_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["emulator", "--help"])
    out = capsys.readouterr().out

    assert done.value.code == 0
    assert out.startswith("usage: payments emulator ")
    for option in ("--host", "--port", "--app-id", "--seller-id", "--resend-factor"):
        assert option in out
    assert "python -m" not in out
    assert "``" not in out


def test_the_emulator_module_helps_in_the_command_s_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from payments_alipay.emulator import cli as emulator_cli

    with pytest.raises(SystemExit):
        emulator_cli.main(["--help"])
    out = capsys.readouterr().out

    assert out.startswith("usage: payments emulator ")
    assert "``" not in out
    assert "removed when it stops" in " ".join(out.split())


def test_payments_emulator_serves_and_prints_the_settings_that_reach_it() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = Path(sys.executable).with_name("payments")
    command = [str(script), "emulator", "--port", str(port), "--resend-factor", "0.01"]
    with subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(6)]
            exported = dict(
                line.removeprefix("export ").strip().split("=", 1) for line in lines[1:]
            )
            key_file = Path(exported["ALIPAY_PRIVATE_KEY"].removeprefix("@"))
            kept_while_running = key_file.exists()
            app_id = AlipaySettings.from_settings(exported).app_id  # reads the key files
        finally:
            process.terminate()
            process.wait(timeout=10)

    assert lines[0] == "Alipay emulator settings for the merchant (key files kept while it runs):\n"
    assert kept_while_running
    assert not key_file.parent.exists()  # the private key does not outlive the emulator
    assert exported["ALIPAY_GATEWAY"] == f"http://127.0.0.1:{port}/gateway.do"
    assert app_id == "2021000000000001"
