"""The ``payments`` plugin of Alipay, registered through the entry point ``alipay``.

It provides the gateway, declares the ``ALIPAY_*`` settings, adds the ``emulator`` and
``keys generate`` commands, and offers the emulator to the demo. The command line and
the demo need Starlette and uvicorn, so their modules are imported only when asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from payments_alipay.gateway import AlipayGateway
from payments_alipay.settings import SETTINGS, AlipaySettings, is_configured
from payments_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from collections.abc import Sequence

    from payments_core.contributions import DemoVendor, Setting, Subcommands
    from payments_core.ports import VendorGateway
    from payments_core.values import Settings


@hookimpl
def payments_vendor_gateways(settings: Settings) -> Sequence[VendorGateway]:
    """The Alipay gateway, or nothing when no ``ALIPAY_*`` key setting is given.

    Raises:
        ValueError: Alipay is partly or wrongly configured (one line naming the setting).
    """
    if not is_configured(settings):
        return []
    return [AlipayGateway(AlipaySettings.from_settings(settings))]


@hookimpl
def payments_settings() -> Sequence[Setting]:
    """The ``ALIPAY_*`` settings."""
    return SETTINGS


@hookimpl
def payments_commands(commands: Subcommands) -> None:
    """``payments emulator`` and ``payments keys generate``."""
    from payments_alipay.commands import add_commands

    add_commands(commands)


@hookimpl
def payments_demo_vendor(public_url: str, buyer: str) -> DemoVendor:
    """The emulator as the demo's gateway, its settings, and the seed orders."""
    from payments_alipay.demo import demo_vendor

    return demo_vendor(public_url, buyer)
