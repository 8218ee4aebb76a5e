"""The sqlstore plugin's ``payments`` subcommand: ``db upgrade``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Final

from payments_sqlstore._startup import naming_the_database
from payments_sqlstore.layout import PREFIX_SETTING, VERSION_TABLE_SETTING, Layout
from payments_sqlstore.schema import current_revision, upgrade

if TYPE_CHECKING:
    import argparse

    from payments_core.contributions import Subcommands
    from payments_core.values import Settings

DEFAULT_URL: Final = "sqlite:///payments.db"


def add_commands(commands: Subcommands) -> None:
    """Add ``payments db upgrade`` to ``commands``."""
    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade_parser = db_commands.add_parser(
        "upgrade",
        help="apply the schema migrations",
        description="Bring the database's tables to this release's schema (Alembic), then print"
        " the revision. Run it once per release before starting the servers; several hosts"
        " may run it at once. Each option is also read from its environment variable.",
    )
    # The option's dest is the setting's name: the command line lays it over the environment.
    upgrade_parser.add_argument(
        "--database-url",
        dest="PAYMENTS_DATABASE_URL",
        metavar="URL",
        help=f"PAYMENTS_DATABASE_URL: the database (default {DEFAULT_URL})",
    )
    upgrade_parser.add_argument(
        "--database-table-prefix",
        dest=PREFIX_SETTING,
        metavar="PREFIX",
        help=f"{PREFIX_SETTING}: what our table names start with (default: nothing)",
    )
    upgrade_parser.add_argument(
        "--database-version-table",
        dest=VERSION_TABLE_SETTING,
        metavar="TABLE",
        help=f"{VERSION_TABLE_SETTING}: the table of our Alembic revision"
        " (default: the prefix, then alembic_version)",
    )
    upgrade_parser.set_defaults(run=_upgrade)


def _upgrade(args: argparse.Namespace, settings: Settings) -> int:
    del args  # the URL and the layout arrive as settings
    url = settings.get("PAYMENTS_DATABASE_URL") or DEFAULT_URL
    if url.startswith("memory://"):
        sys.stdout.write("memory:// has no schema to upgrade\n")
        return 0
    layout = Layout.from_settings(settings)
    with naming_the_database(url):
        upgrade(url, layout=layout)
        revision = current_revision(url, layout=layout)
    sys.stdout.write(f"database schema at revision {revision}\n")
    return 0
