"""SQL repository plugin: SQLite by default, PostgreSQL for several app instances.

``SqlPaymentRepository`` implements the core's ``PaymentRepository`` port on
SQLAlchemy 2 Core tables. ``upgrade`` applies the packaged Alembic migrations
(``payments db upgrade``); ``ensure_schema`` is the start-up check. ``Layout`` names
our tables and version table, so that they can live in a database shared with a shop.
"""

from __future__ import annotations

from payments_sqlstore.engine import make_engine
from payments_sqlstore.layout import Layout
from payments_sqlstore.repository import SqlPaymentRepository
from payments_sqlstore.schema import (
    SchemaMismatch,
    current_revision,
    ensure_schema,
    head_revision,
    upgrade,
)

__all__ = [
    "Layout",
    "SchemaMismatch",
    "SqlPaymentRepository",
    "current_revision",
    "ensure_schema",
    "head_revision",
    "make_engine",
    "upgrade",
]
