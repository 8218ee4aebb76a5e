"""Payments, attempts, idempotency records and the status-change outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from payments_sqlstore.migrations.naming import prefix

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the four tables and their indexes."""
    p = prefix()
    op.create_table(
        f"{p}payments",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("payer", sa.String(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("vendor", sa.String(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("confirmed_at", _TIME),
        sa.Column("vendor_trade_id", sa.String()),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{p}payments"),
    )
    live = sa.text("status <> 'INVALID'")
    op.create_index(
        f"uq_{p}payments_live_order",
        f"{p}payments",
        ["order_id"],
        unique=True,
        sqlite_where=live,
        postgresql_where=live,
    )
    op.create_table(
        f"{p}attempts",
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("payment_id", _ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("order_string", sa.Text(), nullable=False),
        sa.Column("opened_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("vendor_trade_id", sa.String()),
        sa.PrimaryKeyConstraint("reference", name=f"pk_{p}attempts"),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            [f"{p}payments.id"],
            name=f"fk_{p}attempts_payment_id_{p}payments",
            ondelete="CASCADE",
        ),
    )
    op.create_index(f"ix_{p}attempts_payment_id", f"{p}attempts", ["payment_id"])
    op.create_table(
        f"{p}idempotency_records",
        sa.Column("payer", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("payment_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint("payer", "key", name=f"pk_{p}idempotency_records"),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            [f"{p}payments.id"],
            name=f"fk_{p}idempotency_records_payment_id_{p}payments",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        f"ix_{p}idempotency_records_payment_id", f"{p}idempotency_records", ["payment_id"]
    )
    op.create_table(
        f"{p}status_changes",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("payment_id", _ID, nullable=False),
        sa.Column("previous_status", sa.String(16)),
        sa.Column("current_status", sa.String(16), nullable=False),
        sa.Column("changed_at", _TIME, nullable=False),
        sa.Column("delivered_to", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("done", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name=f"pk_{p}status_changes"),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            [f"{p}payments.id"],
            name=f"fk_{p}status_changes_payment_id_{p}payments",
            ondelete="CASCADE",
        ),
    )
    op.create_index(f"ix_{p}status_changes_payment_id", f"{p}status_changes", ["payment_id"])
    op.create_index(
        f"ix_{p}status_changes_pending",
        f"{p}status_changes",
        ["id"],
        sqlite_where=sa.text("done = 0"),
        postgresql_where=sa.text("done = false"),
    )


def downgrade() -> None:
    """Drop everything."""
    for table in ("status_changes", "idempotency_records", "attempts", "payments"):
        op.drop_table(f"{prefix()}{table}")
