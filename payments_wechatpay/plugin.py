"""The ``payments`` plugin of WeChat Pay, registered through the entry point ``wechatpay``.

It adds the ``wechatpay-emulator`` command and offers the emulator to the demo. The
command line and the demo need Starlette and uvicorn, so their modules are imported
only when asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from payments_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from payments_core.contributions import DemoVendor, Subcommands


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
