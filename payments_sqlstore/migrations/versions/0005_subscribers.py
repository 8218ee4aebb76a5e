"""Subscribers: the status hooks every change must reach before it leaves the outbox.

A process registers the plugin names of its status hooks; a change is retired only
once its ``delivered_to`` holds every subscriber not retired. Existing changes are not
touched: those still pending wait for the subscribers registered from now on.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from payments_sqlstore.migrations.naming import prefix

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the subscribers table."""
    subscribers = f"{prefix()}subscribers"
    op.create_table(
        subscribers,
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("name", name=f"pk_{subscribers}"),
    )


def downgrade() -> None:
    """Drop the subscribers table."""
    op.drop_table(f"{prefix()}subscribers")
