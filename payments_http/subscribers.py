"""``payments hooks list`` and ``payments hooks retire NAME``: the outbox's subscribers.

A subscriber is the plugin name of a status hook some process registered; changes stay
pending until every active subscriber has them (``docs/hooks.md``). These commands use
whatever repository the installed plugins give ``PAYMENTS_DATABASE_URL``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from payments_core.inmemory import SystemClock
from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_core.ports import Closeable

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

    from payments_core.contributions import Setting, Subcommands
    from payments_core.ports import PaymentRepository
    from payments_core.values import Settings, Subscriber


def add_hooks_command(
    commands: Subcommands,
    declared: Sequence[Setting],
    add_settings: Callable[[argparse.ArgumentParser, Sequence[Setting]], None],
) -> None:
    """Add ``payments hooks list|retire NAME``, each with every setting as an option."""
    hooks = commands.add_parser("hooks", help="the status hooks every change must reach")
    chores = hooks.add_subparsers(dest="hooks_command", required=True, metavar="COMMAND")
    listing = chores.add_parser("list", help="subscribers, and the changes waiting for each")
    listing.set_defaults(run=_list)
    retire = chores.add_parser("retire", help="stop waiting for a subscriber whose hook is gone")
    retire.add_argument("name", help="the subscriber's (plugin's) name, as `hooks list` shows")
    retire.set_defaults(run=_retire)
    for parser in (listing, retire):
        add_settings(parser, declared)


def open_repository(settings: Settings) -> PaymentRepository:
    """The repository the installed plugins give ``PAYMENTS_DATABASE_URL``."""
    url = settings.get("PAYMENTS_DATABASE_URL") or "sqlite:///payments.db"
    return PaymentHooks(make_plugin_manager()).repository(url, settings)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    del args
    repo = open_repository(settings)
    try:
        found = repo.subscribers()
    finally:
        close_repository(repo)
    sys.stdout.write("".join(_line(s) for s in found) or "no subscribers registered\n")
    return 0


def _line(subscriber: Subscriber) -> str:
    registered = subscriber.registered_at.isoformat(timespec="seconds")
    if subscriber.retired_at is None:
        return f"{subscriber.name}\tactive\t{subscriber.pending} pending\tregistered {registered}\n"
    retired = subscriber.retired_at.isoformat(timespec="seconds")
    return f"{subscriber.name}\tretired {retired}\tregistered {registered}\n"


def _retire(args: argparse.Namespace, settings: Settings) -> int:
    repo = open_repository(settings)
    try:
        completed = repo.retire_subscriber(args.name, SystemClock().now())
    finally:
        close_repository(repo)
    sys.stdout.write(f"retired {args.name}: {completed} changes no longer wait\n")
    return 0


def close_repository(repo: object) -> None:
    """Release what ``repo`` holds, if it holds anything."""
    if isinstance(repo, Closeable):
        repo.close()
