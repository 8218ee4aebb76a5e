"""Listing and history: indexes for pages of payments, and the source of each status change.

Each index ends in the payment id, so a page filtered by payer, status, order or
creation time is read newest first straight from its index, one page of rows and no
more. ``status_changes.source`` records what made each change (create, retry,
notification, sweep, verify); changes stored before this revision keep NULL there: what
made them was not recorded, and is not guessed.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from payments_sqlstore.migrations.naming import prefix

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_LISTED_BY = ("payer", "status", "order_id", "created_at")


def upgrade() -> None:
    """Add the listing indexes and the nullable ``status_changes.source``."""
    payments = f"{prefix()}payments"
    for column in _LISTED_BY:
        op.create_index(f"ix_{payments}_{column}_id", payments, [column, "id"])
    op.add_column(f"{prefix()}status_changes", sa.Column("source", sa.String(16)))


def downgrade() -> None:
    """Drop them again."""
    payments = f"{prefix()}payments"
    # SQLite drops a column in place since 3.35 (Python 3.11 ships a later one).
    op.drop_column(f"{prefix()}status_changes", "source")
    for column in _LISTED_BY:
        op.drop_index(f"ix_{payments}_{column}_id", table_name=payments)
