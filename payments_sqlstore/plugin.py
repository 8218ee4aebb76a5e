"""The ``sqlstore`` plugin: answers ``sqlite://`` and ``postgresql://`` database URLs.

It also declares its settings (the database timeout, pool size, table prefix and
version table) and adds ``payments db upgrade``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from payments_core.contributions import Setting
from payments_core.hookspecs import hookimpl
from payments_sqlstore._startup import naming_the_database
from payments_sqlstore.commands import add_commands
from payments_sqlstore.engine import DEFAULT_POOL_SIZE, DEFAULT_TIMEOUT, make_engine
from payments_sqlstore.layout import ALEMBIC_VERSION, PREFIX_SETTING, VERSION_TABLE_SETTING, Layout
from payments_sqlstore.repository import SqlPaymentRepository
from payments_sqlstore.schema import ensure_schema

if TYPE_CHECKING:
    from collections.abc import Sequence

    from payments_core.contributions import Subcommands
    from payments_core.values import Settings

_SCHEMES: Final = ("sqlite", "postgresql")
TIMEOUT_SETTING: Final = "PAYMENTS_DATABASE_TIMEOUT"
POOL_SETTING: Final = "PAYMENTS_DATABASE_POOL_SIZE"
SETTINGS: Final = (
    Setting(
        TIMEOUT_SETTING,
        f"{DEFAULT_TIMEOUT:g}",
        "seconds any database wait may take (connect, pool checkout, lock, statement)",
    ),
    Setting(
        POOL_SETTING,
        str(DEFAULT_POOL_SIZE),
        "PostgreSQL connections kept per process (as many again may overflow)",
    ),
    Setting(
        PREFIX_SETTING,
        "",
        "what our table, index and constraint names start with (e.g. pay_), to live in a shop's"
        " database; empty: payments, attempts, ...",
    ),
    Setting(
        VERSION_TABLE_SETTING,
        None,
        f"the table of our Alembic revision (default: the prefix, then {ALEMBIC_VERSION});"
        " keep it apart from the shop's own",
    ),
)


@hookimpl
def payments_payment_repository(url: str, settings: Settings) -> SqlPaymentRepository | None:
    """A checked ``SqlPaymentRepository`` for SQL URLs; None for any other scheme.

    A SQLite database without our tables is given the schema; in any other our tables
    must be at the code's revision already (``payments db upgrade``).

    Raises:
        SchemaMismatch: a ValueError whose one-line message says what to run.
        ValueError: one line naming the database setting that is unusable.
        StoreUnavailable: the database could not be reached at start-up.
    """
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme not in _SCHEMES:
        return None
    timeout = _number(settings, TIMEOUT_SETTING, DEFAULT_TIMEOUT)
    pool_size = int(_number(settings, POOL_SETTING, DEFAULT_POOL_SIZE))
    layout = Layout.from_settings(settings)
    engine = make_engine(url, timeout=timeout, pool_size=pool_size)
    try:
        with naming_the_database(url):
            ensure_schema(engine, layout=layout)
    except BaseException:
        engine.dispose()
        raise
    return SqlPaymentRepository(engine, layout=layout)


@hookimpl
def payments_settings() -> Sequence[Setting]:
    """The database timeout, pool size, table prefix and version table."""
    return SETTINGS


@hookimpl
def payments_commands(commands: Subcommands) -> None:
    """``payments db upgrade``."""
    add_commands(commands)


def _number(settings: Settings, name: str, default: float) -> float:
    raw = settings.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds or connections") from None
    if value <= 0:
        raise ValueError(f"{name} must be greater than 0")
    return value
