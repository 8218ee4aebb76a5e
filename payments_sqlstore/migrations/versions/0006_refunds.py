"""Refunds: the refunds table, its idempotency records, refund changes in the outbox.

Each attempt also keeps what the vendor reported paid (the amount a duplicate charge's
refund returns). Existing rows are not touched: attempts settled before this revision
have no amount paid, and every change already in the outbox stays a payment's.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from payments_sqlstore.migrations.naming import prefix

# The lead renumbers revisions when branches merge: these two lines are all there is.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the refund tables; add the attempts' amount paid and the outbox's refund_id."""
    p = prefix()
    op.create_table(
        f"{p}refunds",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("payment_id", _ID, nullable=False),
        sa.Column("attempt_reference", sa.String(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure", sa.String()),
        sa.Column("acknowledged", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("succeeded_at", _TIME),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("claimed_until", _TIME),
        sa.PrimaryKeyConstraint("id", name=f"pk_{p}refunds"),
        sa.UniqueConstraint("reference", name=f"uq_{p}refunds_reference"),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            [f"{p}payments.id"],
            name=f"fk_{p}refunds_payment_id_{p}payments",
            ondelete="CASCADE",
        ),
    )
    op.create_index(f"ix_{p}refunds_payment_id", f"{p}refunds", ["payment_id"])
    pending = sa.text("status = 'PENDING'")
    op.create_index(
        f"ix_{p}refunds_pending",
        f"{p}refunds",
        ["id"],
        sqlite_where=pending,
        postgresql_where=pending,
    )
    op.create_table(
        f"{p}refund_idempotency",
        sa.Column("requester", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("refund_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint("requester", "key", name=f"pk_{p}refund_idempotency"),
        sa.ForeignKeyConstraint(
            ["refund_id"],
            [f"{p}refunds.id"],
            name=f"fk_{p}refund_idempotency_refund_id_{p}refunds",
            ondelete="CASCADE",
        ),
    )
    op.add_column(f"{p}attempts", sa.Column("amount_paid_minor", sa.BigInteger()))
    op.add_column(f"{p}attempts", sa.Column("amount_paid_currency", sa.String(3)))
    _add_refund_id(p)


def _add_refund_id(p: str) -> None:
    changes = f"{p}status_changes"
    # SQLite cannot add a constraint in place: batch mode copies the table, so its
    # partial index is dropped first and made again after.
    op.drop_index(f"ix_{changes}_pending", table_name=changes)
    with op.batch_alter_table(changes) as batch:
        batch.add_column(sa.Column("refund_id", _ID))
        batch.create_foreign_key(
            f"fk_{changes}_refund_id_{p}refunds",
            f"{p}refunds",
            ["refund_id"],
            ["id"],
            ondelete="CASCADE",
        )
    _pending_index(changes)


def _pending_index(changes: str) -> None:
    """The outbox's partial index, as revision 0001 made it."""
    op.create_index(
        f"ix_{changes}_pending",
        changes,
        ["id"],
        sqlite_where=sa.text("done = 0"),
        postgresql_where=sa.text("done = false"),
    )


def downgrade() -> None:
    """Drop what ``upgrade`` made; every refund and refund change is lost."""
    p = prefix()
    changes = f"{p}status_changes"
    outbox = sa.table(changes, sa.column("refund_id"))
    op.execute(sa.delete(outbox).where(outbox.c.refund_id.is_not(None)))
    op.drop_index(f"ix_{changes}_pending", table_name=changes)
    with op.batch_alter_table(changes) as batch:
        batch.drop_constraint(f"fk_{changes}_refund_id_{p}refunds", type_="foreignkey")
        batch.drop_column("refund_id")
    _pending_index(changes)
    with op.batch_alter_table(f"{p}attempts") as batch:
        batch.drop_column("amount_paid_currency")
        batch.drop_column("amount_paid_minor")
    op.drop_table(f"{p}refund_idempotency")
    op.drop_index(f"ix_{p}refunds_pending", table_name=f"{p}refunds")
    op.drop_index(f"ix_{p}refunds_payment_id", table_name=f"{p}refunds")
    op.drop_table(f"{p}refunds")
