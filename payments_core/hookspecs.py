"""The pluggy hook specifications of the ``payments`` project."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import pluggy

if TYPE_CHECKING:
    from payments_core.contributions import DemoVendor, Setting, Subcommands
    from payments_core.payment import Payment, PaymentStatus
    from payments_core.ports import PaymentRepository, VendorGateway
    from payments_core.refund import Refund, RefundStatus
    from payments_core.values import Settings

PROJECT: Final = "payments"  # the marker name and the entry-point group
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def payments_vendor_gateways(settings: Settings) -> Sequence[VendorGateway]:
    """Return the vendor gateways this plugin provides, configured from ``settings``.

    Every plugin answers; the results are merged by gateway name, and two plugins
    providing the same name is a configuration error. Return an empty sequence when
    the plugin has nothing to offer. Raise ``ValueError`` naming the setting when the
    configuration is unusable.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def payments_payment_repository(url: str, settings: Settings) -> PaymentRepository | None:
    """Return a repository for the database ``url``, or None to let the next plugin answer.

    The first non-None answer wins. The in-memory repository answers ``memory://``
    and is asked last.
    """
    raise NotImplementedError


@hookspec
def payments_status_changed(
    payment: Payment, previous: PaymentStatus | None, current: PaymentStatus, settings: Settings
) -> None:
    """A stored status change, delivered by the outbox relay: ``previous`` to ``current``.

    ``previous`` is None when the payment was created. ``payment`` is the payment as
    stored now, which may already have moved on from ``current``. ``settings`` are the
    delivering process's effective settings, so that a hook run by any process of the
    deployment (a ``payments reconcile`` cron job too) can find the shop's resources;
    an implementation may leave out any argument it does not need.

    Called once per change and per plugin, also across processes sharing a database
    (changes are claimed before delivery); a plugin that raises is logged and called
    again later for that change, while the others are not called twice. A process
    killed mid-delivery can repeat a change, so implementations should be idempotent
    and quick.

    The plugin's name is the subscriber name (``docs/hooks.md``): register the plugin
    with an explicit, stable ``name=``. A change stays pending until every registered
    subscriber has it, whichever process made it.
    """
    raise NotImplementedError


@hookspec
def payments_refund_changed(
    refund: Refund, previous: RefundStatus | None, current: RefundStatus, settings: Settings
) -> None:
    """A stored change of a refund's status, delivered by the outbox relay like a payment's.

    ``previous`` is None when the refund was recorded (PENDING; a DUPLICATE or REJECTED
    charge's refund is recorded the moment the charge is). ``refund`` is the refund as
    stored now. Delivery follows ``payments_status_changed``'s rules: at least once per
    plugin and change, across processes, through the same outbox; the plugin's name is
    its subscriber name, and implementations should be idempotent and quick.
    """
    raise NotImplementedError


@hookspec
def payments_settings() -> Sequence[Setting]:
    """Return the settings this plugin reads, so that the ``payments`` command knows them.

    Every plugin answers; the answers are merged. Each setting becomes an option of
    ``payments serve`` and ``payments reconcile``, and its default fills the settings
    every hook receives. A name declared twice (by two plugins, or one the ``payments``
    command declares itself) is a configuration error. Return an empty sequence when
    the plugin reads no settings.
    """
    raise NotImplementedError


@hookspec
def payments_commands(commands: Subcommands) -> None:
    """Add this plugin's subcommands to the ``payments`` command; return nothing.

    Every plugin is called, with the same ``commands`` (the argparse subparsers of
    ``payments``). Add each command with ``commands.add_parser(name, help=...)`` and
    name what it runs with ``parser.set_defaults(run=command)``, a ``Command``. A name
    already taken is a configuration error.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def payments_demo_vendor(public_url: str, buyer: str) -> DemoVendor | None:
    """Return the vendor's part of ``payments serve --demo``, or None to let the next plugin answer.

    The first non-None answer wins: the demo shows one vendor. ``public_url`` is where
    the demo server is reached (its stand-in is at ``public_url + mount_path``);
    ``buyer`` is the user the demo gives a customer token, who should own some
    payable seed orders.
    """
    raise NotImplementedError
