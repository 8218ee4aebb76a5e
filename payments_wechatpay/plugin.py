"""The ``payments`` plugin of WeChat Pay, registered through the entry point ``wechatpay``.

It provides the gateway when the ``WECHATPAY_*`` settings are given, declares them, adds
the ``wechatpay-emulator`` command and offers the emulator to the demo. The command line
and the demo need Starlette and uvicorn, so their modules are imported only when asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from payments_core.hookspecs import hookimpl
from payments_wechatpay.gateway import WeChatPayGateway
from payments_wechatpay.settings import SETTINGS, WeChatPaySettings, is_configured

if TYPE_CHECKING:
    from collections.abc import Sequence

    from payments_core.contributions import DemoVendor, Setting, Subcommands
    from payments_core.ports import VendorGateway
    from payments_core.values import Settings


@hookimpl
def payments_vendor_gateways(settings: Settings) -> Sequence[VendorGateway]:
    """The WeChat Pay gateway, or nothing when no required ``WECHATPAY_*`` setting is given.

    Raises:
        ValueError: WeChat Pay is partly or wrongly configured (one line naming the setting).
    """
    if not is_configured(settings):
        return []
    return [WeChatPayGateway(WeChatPaySettings.from_settings(settings))]


@hookimpl
def payments_settings() -> Sequence[Setting]:
    """The ``WECHATPAY_*`` settings."""
    return SETTINGS


@hookimpl
def payments_commands(commands: Subcommands) -> None:
    """``payments wechatpay-emulator``."""
    from payments_wechatpay.commands import add_commands

    add_commands(commands)


@hookimpl
def payments_demo_vendor(public_url: str, buyer: str) -> DemoVendor:
    """The emulator as the demo's WeChat Pay, its settings, and seed orders."""
    from payments_wechatpay.demo import demo_vendor

    return demo_vendor(public_url, buyer)
