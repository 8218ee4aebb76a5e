"""The ``payments`` console script: one line naming the extra to install when one is missing.

The base install is the core alone (for embedding); the command needs the ``server``
extra, and PostgreSQL the ``postgres`` one. This module sits outside ``payments_http``
so that it can run before anything imports Starlette, and it imports no ``payments``
package at module level.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Final

EXIT_CONFIG: Final = 2
# The top-level modules our extras install, and the extra to ask for: the command needs
# everything of ``server``; ``postgres`` only for a postgresql:// URL.
# tests/unit/test_packaging.py checks this against pyproject.toml's extras.
EXTRA_OF_MODULE: Final[Mapping[str, str]] = {
    "starlette": "server",
    "uvicorn": "server",
    "jwt": "server",
    "cryptography": "server",
    "requests": "server",
    "sqlalchemy": "server",
    "alembic": "server",
    "prometheus_client": "server",
    "swagger_ui_bundle": "server",
    "segno": "server",
    "psycopg": "postgres",
}


def advice(missing: str) -> str | None:
    """The line for a missing module our extras install; None for any other module."""
    extra = EXTRA_OF_MODULE.get(missing.split(".")[0])
    if extra is None:
        return None
    return f"payments: {missing} is not installed: pip install 'payments[{extra}]'\n"


def main() -> int:
    """Run ``payments_http.cli.main``, or say which extra to install; the exit status."""
    try:
        from payments_http.cli import main as run

        return run()
    except ModuleNotFoundError as exc:
        line = advice(exc.name or "")
        if line is None:  # not one of our extras' modules: a bug, shown as one
            raise
        sys.stderr.write(line)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
