"""Outbox claims: status_changes.claimed_until, so processes never deliver one change twice.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from payments_sqlstore.migrations.naming import prefix

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the claim column of the outbox."""
    op.add_column(
        f"{prefix()}status_changes", sa.Column("claimed_until", sa.DateTime(timezone=True))
    )


def downgrade() -> None:
    """Drop the claim column of the outbox."""
    with op.batch_alter_table(f"{prefix()}status_changes") as batch:
        batch.drop_column("claimed_until")
