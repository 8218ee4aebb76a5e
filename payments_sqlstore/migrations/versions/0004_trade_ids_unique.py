"""One vendor trade id per attempt: attempts.vendor and a unique index on (vendor, trade id).

Each attempt gets its payment's vendor (copied), so the database itself can refuse a
second attempt recorded with a trade id that already settled one: racing app
instances cannot both record it. A database in which one trade id already settled two
attempts is not changed: the upgrade stops and names them, because that is evidence
of a forged notification (or a bug) that an operator must look at first.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from payments_sqlstore.migrations.naming import prefix
from payments_sqlstore.schema import SchemaMismatch

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The table names come from the layout, checked to be plain lower-case SQL names.
_SHARED = (
    "SELECT p.vendor, a.vendor_trade_id, a.reference, a.payment_id"
    " FROM {attempts} a JOIN {payments} p ON p.id = a.payment_id"
    " WHERE a.vendor_trade_id IN ("
    "  SELECT b.vendor_trade_id FROM {attempts} b JOIN {payments} q ON q.id = b.payment_id"
    "  WHERE b.vendor_trade_id IS NOT NULL AND q.vendor = p.vendor"
    "  GROUP BY b.vendor_trade_id HAVING COUNT(*) > 1)"
    " ORDER BY p.vendor, a.vendor_trade_id, a.payment_id, a.reference"
)
_COPY_VENDOR = (
    "UPDATE {attempts} SET vendor ="
    " (SELECT vendor FROM {payments} WHERE {payments}.id = {attempts}.payment_id)"
)


def _sql(template: str) -> sa.TextClause:
    p = prefix()
    return sa.text(template.format(attempts=f"{p}attempts", payments=f"{p}payments"))


def upgrade() -> None:
    """Refuse shared trade ids, copy each attempt's vendor, add the unique index."""
    attempts = f"{prefix()}attempts"
    _refuse_shared_trade_ids()
    op.add_column(attempts, sa.Column("vendor", sa.String()))
    op.execute(_sql(_COPY_VENDOR))
    # SQLite cannot add NOT NULL to a column in place: batch mode copies the table, so
    # its indexes are dropped first and made again after (partial ones included).
    op.drop_index(f"ix_{attempts}_open_expiry", table_name=attempts)
    with op.batch_alter_table(attempts) as batch:
        batch.alter_column("vendor", existing_type=sa.String(), nullable=False)
    is_open = sa.text("state = 'OPEN'")
    op.create_index(
        f"ix_{attempts}_open_expiry",
        attempts,
        ["expires_at"],
        sqlite_where=is_open,
        postgresql_where=is_open,
    )
    op.create_index(
        f"uq_{attempts}_vendor_trade_id", attempts, ["vendor", "vendor_trade_id"], unique=True
    )


def downgrade() -> None:
    """Drop the index and the copied vendor."""
    attempts = f"{prefix()}attempts"
    op.drop_index(f"uq_{attempts}_vendor_trade_id", table_name=attempts)
    with op.batch_alter_table(attempts) as batch:
        batch.drop_column("vendor")


def _refuse_shared_trade_ids() -> None:
    rows = op.get_bind().execute(_sql(_SHARED)).all()
    if not rows:
        return
    shared = "; ".join(
        f"{vendor} trade {trade} on attempt {reference} of payment {payment}"
        for vendor, trade, reference, payment in rows[:10]
    )
    raise SchemaMismatch(
        f"revision 0004 stopped, nothing changed: one vendor trade id settled several"
        f" attempts ({shared}). A trade pays once: settle these payments by hand"
        " (docs/sqlstore.md), then run `payments db upgrade` again"
    )
