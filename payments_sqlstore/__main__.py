"""``python -m payments_sqlstore upgrade|check|current [URL]``: schema chores without the server.

The URL defaults to ``PAYMENTS_DATABASE_URL``, then ``sqlite:///payments.db``; the
table prefix and version table are ``PAYMENTS_DATABASE_TABLE_PREFIX`` and
``PAYMENTS_DATABASE_VERSION_TABLE`` from the environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from payments_core.errors import StoreUnavailable
from payments_sqlstore.layout import Layout
from payments_sqlstore.schema import (
    current_revision,
    ensure_schema,
    head_revision,
    upgrade,
)

_USAGE = "usage: python -m payments_sqlstore upgrade|check|current [URL]"


def main(argv: Sequence[str]) -> int:
    """Run one command; print one line; return the exit status."""
    if not argv or argv[0] not in ("upgrade", "check", "current") or len(argv) > 2:
        sys.stderr.write(_USAGE + "\n")
        return 2
    url = (
        argv[1]
        if len(argv) == 2
        else os.environ.get("PAYMENTS_DATABASE_URL", "sqlite:///payments.db")
    )
    try:
        layout = Layout.from_settings(os.environ)
        if argv[0] == "upgrade":
            upgrade(url, layout=layout)
        elif argv[0] == "check":
            ensure_schema(url, auto_upgrade_empty_sqlite=False, layout=layout)
        current = current_revision(url, layout=layout)
        sys.stdout.write(f"at revision {current} (code needs {head_revision()})\n")
    except (ValueError, StoreUnavailable) as exc:  # SchemaMismatch is a ValueError
        sys.stderr.write(f"{exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
