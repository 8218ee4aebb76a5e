"""Where our schema lives in a database it may share: the prefix of our names, our version table.

A shop that embeds payments may keep our tables in its own database, beside its own
tables and its own Alembic history. Every table, index, constraint and sequence we
create is named from ``table_prefix`` (empty: the names of every deployment so far),
and our Alembic revision is kept in ``version_table`` (by default the prefix followed
by ``alembic_version``, so a prefix alone keeps us out of the shop's history).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from attrs import Factory, field, frozen

PREFIX_SETTING: Final = "PAYMENTS_DATABASE_TABLE_PREFIX"
VERSION_TABLE_SETTING: Final = "PAYMENTS_DATABASE_VERSION_TABLE"
ALEMBIC_VERSION: Final = "alembic_version"
# PostgreSQL cuts names at 63 bytes. Our longest, fk_idempotency_records_payment_id_payments,
# holds the prefix twice: 42 + 2 * 10 = 62. A longer prefix would have names cut short,
# and the repository would no longer recognise its own constraints in the errors.
MAX_PREFIX: Final = 10
MAX_NAME: Final = 63
# Lower case only: PostgreSQL folds unquoted names to lower case, so any other name
# would have to be quoted in every statement the shop's people type by hand.
_PREFIX: Final = re.compile(rf"([a-z][a-z0-9_]{{0,{MAX_PREFIX - 1}}})?")
_NAME: Final = re.compile(rf"[a-z_][a-z0-9_]{{0,{MAX_NAME - 1}}}")


def check_prefix(prefix: str) -> str:
    """``prefix``, if it can start every name we create.

    Raises:
        ValueError: one line naming ``PAYMENTS_DATABASE_TABLE_PREFIX``.
    """
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(
            f"{PREFIX_SETTING} must be empty or up to {MAX_PREFIX} lower-case letters,"
            " digits and underscores, starting with a letter (e.g. pay_)"
        )
    return prefix


def check_version_table(name: str) -> str:
    """``name``, if it can name a table.

    Raises:
        ValueError: one line naming ``PAYMENTS_DATABASE_VERSION_TABLE``.
    """
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"{VERSION_TABLE_SETTING} must be a table name of up to {MAX_NAME} lower-case"
            " letters, digits and underscores"
        )
    return name


def _prefix_validator(_instance: object, _attribute: object, value: str) -> None:
    check_prefix(value)


def _version_table_validator(_instance: object, _attribute: object, value: str) -> None:
    check_version_table(value)


@frozen
class Layout:
    """The names our schema takes in a database: ``Layout()`` is today's, unprefixed."""

    table_prefix: str = field(default="", validator=_prefix_validator)
    version_table: str = field(
        default=Factory(lambda self: f"{self.table_prefix}{ALEMBIC_VERSION}", takes_self=True),
        validator=_version_table_validator,
    )

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> Layout:
        """The layout the settings name; blank or absent settings take the defaults.

        Raises:
            ValueError: one line naming the setting that cannot be a name.
        """
        prefix = settings.get(PREFIX_SETTING, "").strip()
        version_table = settings.get(VERSION_TABLE_SETTING, "").strip()
        if version_table:
            return cls(prefix, version_table)
        return cls(prefix)
