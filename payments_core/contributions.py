"""What plugins contribute besides ports: settings, ``payments`` subcommands, demo pieces.

These are plain values, so that a plugin declares its parts without importing the
HTTP adapter that uses them (the ``payments`` command and its demo).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeAlias

from attrs import field, frozen

from payments_core.values import Order, Settings

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The subcommands of ``payments``: ``add_parser(name, help=...)`` adds one."""

Command: TypeAlias = Callable[[argparse.Namespace, Settings], int]
"""What a subcommand runs: its parsed arguments and the effective settings in, exit status out.

A subcommand names it with ``parser.set_defaults(run=command)``. ``ValueError`` and
``PaymentsError`` it raises are printed as one line, with exit status 2.
"""

AsgiApp: TypeAlias = Callable[..., Awaitable[None]]
"""An ASGI application, ``app(scope, receive, send)`` (the core does not import one)."""


def _no_stop() -> None:
    return None


@frozen
class Setting:
    """One setting: its environment name, its default, one line of help, and whether it is secret.

    Every setting is also an option of ``payments serve`` and ``payments reconcile``
    (see ``option``). A secret one is a key, password or token: its help says to keep
    it out of command lines, which other users can see in process lists.
    """

    name: str
    default: str | None
    help: str
    secret: bool = False

    @property
    def option(self) -> str:
        """The command-line option: ``PAYMENTS_CHECKOUT_TTL`` is ``--checkout-ttl``."""
        short = self.name.removeprefix("PAYMENTS_").lower().replace("_", "-")
        return "--" + short


@frozen(kw_only=True)
class DemoVendor:
    """A vendor's part of ``payments serve --demo``: a local stand-in and what points at it."""

    vendor: str  # the vendor name new payments use (PAYMENTS_VENDOR)
    settings: Mapping[str, str]  # the vendor's settings: keys, gateway URL, merchant ids
    orders: Sequence[Order]  # seed orders, priced in a currency the vendor takes
    mount_path: str  # where the stand-in is mounted, e.g. "/emulator"
    app: AsgiApp  # the stand-in of the vendor's service, served under mount_path
    notes: Sequence[str] = ()  # lines for the demo's banner, e.g. where the stand-in's console is
    stop: Callable[[], None] = field(default=_no_stop)  # called when the server stops
    # where the demo's shop sends a browser to pay an order string; None: the order
    # string is itself a page (a code_url to scan is not)
    pay_page: Callable[[str], str] | None = None
