"""Payments, attempts, idempotency records and the status-change outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the four tables and their indexes."""
    op.create_table(
        "payments",
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
        sa.PrimaryKeyConstraint("id", name="pk_payments"),
    )
    live = sa.text("status <> 'INVALID'")
    op.create_index(
        "uq_payments_live_order",
        "payments",
        ["order_id"],
        unique=True,
        sqlite_where=live,
        postgresql_where=live,
    )
    op.create_table(
        "attempts",
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("payment_id", _ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("order_string", sa.Text(), nullable=False),
        sa.Column("opened_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("vendor_trade_id", sa.String()),
        sa.PrimaryKeyConstraint("reference", name="pk_attempts"),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name="fk_attempts_payment_id_payments",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_attempts_payment_id", "attempts", ["payment_id"])
    op.create_table(
        "idempotency_records",
        sa.Column("payer", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("payment_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint("payer", "key", name="pk_idempotency_records"),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name="fk_idempotency_records_payment_id_payments",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_idempotency_records_payment_id", "idempotency_records", ["payment_id"])
    op.create_table(
        "status_changes",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("payment_id", _ID, nullable=False),
        sa.Column("previous_status", sa.String(16)),
        sa.Column("current_status", sa.String(16), nullable=False),
        sa.Column("changed_at", _TIME, nullable=False),
        sa.Column("delivered_to", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("done", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name="pk_status_changes"),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name="fk_status_changes_payment_id_payments",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_status_changes_payment_id", "status_changes", ["payment_id"])
    op.create_index(
        "ix_status_changes_pending",
        "status_changes",
        ["id"],
        sqlite_where=sa.text("done = 0"),
        postgresql_where=sa.text("done = false"),
    )


def downgrade() -> None:
    """Drop everything."""
    for table in ("status_changes", "idempotency_records", "attempts", "payments"):
        op.drop_table(table)
