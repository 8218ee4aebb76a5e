"""Sweeper leases: attempts.claimed_until and the index of open attempts by expiry.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from payments_sqlstore.migrations.naming import prefix

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the lease column and the sweep's index."""
    attempts = f"{prefix()}attempts"
    op.add_column(attempts, sa.Column("claimed_until", sa.DateTime(timezone=True)))
    is_open = sa.text("state = 'OPEN'")
    op.create_index(
        f"ix_{attempts}_open_expiry",
        attempts,
        ["expires_at"],
        sqlite_where=is_open,
        postgresql_where=is_open,
    )


def downgrade() -> None:
    """Drop the lease column and its index."""
    attempts = f"{prefix()}attempts"
    op.drop_index(f"ix_{attempts}_open_expiry", table_name=attempts)
    with op.batch_alter_table(attempts) as batch:
        batch.drop_column("claimed_until")
