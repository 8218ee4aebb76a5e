"""The names a revision creates: every one starts with the layout's table prefix.

``payments_sqlstore.schema.upgrade`` hands the ``Layout`` to Alembic in its
configuration's attributes; the revisions read it here while they run, so one set of
revisions migrates unprefixed deployments and prefixed ones alike.
"""

from __future__ import annotations

from typing import Final

from alembic import context

from payments_sqlstore.layout import Layout

LAYOUT_KEY: Final = "payments_layout"


def layout() -> Layout:
    """The layout being migrated.

    Raises:
        RuntimeError: the migrations were not run through ``payments_sqlstore.upgrade``.
    """
    given = context.config.attributes.get(LAYOUT_KEY)
    if not isinstance(given, Layout):
        raise RuntimeError("run the payments migrations through payments_sqlstore.upgrade(url)")
    return given


def prefix() -> str:
    """What every table, index and constraint name of this migration starts with."""
    return layout().table_prefix
