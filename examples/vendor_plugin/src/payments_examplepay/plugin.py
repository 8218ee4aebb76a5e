"""The ``payments`` hook implementations: found through the ``payments`` entry point group.

ExamplePay provides its gateway, declares its one setting (``EXAMPLEPAY_SECRET``) and
adds ``payments examplepay notification``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from payments_core.hookspecs import hookimpl

from payments_examplepay.commands import add_commands
from payments_examplepay.gateway import ExamplePayGateway
from payments_examplepay.settings import SECRET, secret_of

if TYPE_CHECKING:
    from payments_core.contributions import Setting, Subcommands
    from payments_core.ports import VendorGateway
    from payments_core.values import Settings


@hookimpl
def payments_vendor_gateways(settings: Settings) -> Sequence[VendorGateway]:
    """ExamplePay when ``EXAMPLEPAY_SECRET`` is set, else nothing.

    Raises:
        ValueError: EXAMPLEPAY_SECRET is too short (the message names it, never shows it).
    """
    secret = secret_of(settings)
    return [ExamplePayGateway(secret)] if secret else []


@hookimpl
def payments_settings() -> Sequence[Setting]:
    """``EXAMPLEPAY_SECRET``: an option of ``payments serve``, marked secret in its help."""
    return [SECRET]


@hookimpl
def payments_commands(commands: Subcommands) -> None:
    """``payments examplepay notification``."""
    add_commands(commands)
