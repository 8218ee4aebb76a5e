"""The schema as SQLAlchemy Core tables: what the repository reads and writes.

The Alembic revisions in ``migrations/versions`` create exactly these tables (under
the same prefix, see ``payments_sqlstore.layout``);
``tests/sqlstore/test_schema.py`` compares the two. The domain classes are
never mapped: ``payments_sqlstore.rows`` converts between rows and entities.

Money is stored as integer minor units plus a currency; every time as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Final

from attrs import frozen
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from payments_sqlstore.layout import check_prefix

NAMING: Final = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime: ``timestamptz`` on PostgreSQL, naive UTC text on SQLite.

    Naive datetimes are refused on the way in; values come back aware, in UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC; SQLite gets the naive UTC wall time."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements only INTEGER keys


@frozen(eq=False)
class Tables:
    """Our tables under one prefix, in their own ``metadata``."""

    prefix: str
    metadata: MetaData
    payments: Table
    attempts: Table
    idempotency_records: Table
    status_changes: Table
    subscribers: Table
    refunds: Table
    refund_idempotency: Table
    live_order_index: str  # the unique index that refuses a second live payment of an order
    trade_id_index: str  # the unique index that refuses a trade id settling a second attempt
    refund_reference_key: str  # the unique constraint that keeps refund references unique


@cache
def tables_for(prefix: str) -> Tables:
    """Our tables, every name (index, constraint, sequence) starting with ``prefix``.

    Raises:
        ValueError: ``prefix`` cannot start an SQL name (see ``layout.check_prefix``).
    """
    metadata = MetaData(naming_convention=NAMING)
    payments = _payments(metadata, check_prefix(prefix))
    attempts = _attempts(metadata, prefix, payments)
    refunds = _refunds(metadata, prefix, payments)
    return Tables(
        prefix=prefix,
        metadata=metadata,
        payments=payments,
        attempts=attempts,
        idempotency_records=_idempotency_records(metadata, prefix, payments),
        status_changes=_status_changes(metadata, prefix, payments, refunds),
        subscribers=_subscribers(metadata, prefix),
        refunds=refunds,
        refund_idempotency=_refund_idempotency(metadata, prefix, refunds),
        live_order_index=f"uq_{payments.name}_live_order",
        trade_id_index=f"uq_{attempts.name}_vendor_trade_id",
        refund_reference_key=f"uq_{refunds.name}_reference",
    )


def _payments(metadata: MetaData, prefix: str) -> Table:
    payments = Table(
        f"{prefix}payments",
        metadata,
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("order_id", String, nullable=False),
        Column("payer", String, nullable=False),
        Column("subject", Text, nullable=False),
        Column("description", Text),
        Column("amount_minor", BigInteger, nullable=False),
        Column("currency", String(3), nullable=False),
        Column("vendor", String, nullable=False),
        Column("status", String(16), nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        Column("confirmed_at", UtcDateTime),
        Column("vendor_trade_id", String),
        Column("valid", Boolean, nullable=False),
        Column("version", Integer, nullable=False),
    )
    # One live (non-INVALID) payment per order, enforced by the database so that
    # two app instances racing to create it cannot both succeed.
    Index(
        f"uq_{payments.name}_live_order",
        payments.c.order_id,
        unique=True,
        sqlite_where=payments.c.status != "INVALID",
        postgresql_where=payments.c.status != "INVALID",
    )
    _listing_indexes(payments)
    return payments


def _listing_indexes(payments: Table) -> None:
    """A page of payments is read newest first (by id) from one of these: a filter's
    index, ending in id, walked backwards from the cursor's id for exactly one page."""
    for column in ("payer", "status", "order_id", "created_at"):
        Index(f"ix_{payments.name}_{column}_id", payments.c[column], payments.c.id)


def _payment_id(payments: Table) -> Column[int]:
    return Column(
        "payment_id",
        Id,
        ForeignKey(payments.c.id, ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


def _attempts(metadata: MetaData, prefix: str, payments: Table) -> Table:
    attempts = Table(
        f"{prefix}attempts",
        metadata,
        Column("reference", String, primary_key=True),
        _payment_id(payments),
        Column("seq", Integer, nullable=False),
        Column("order_string", Text, nullable=False),
        Column("opened_at", UtcDateTime, nullable=False),
        Column("expires_at", UtcDateTime, nullable=False),
        Column("state", String(16), nullable=False),
        Column("vendor_trade_id", String),
        Column("claimed_until", UtcDateTime),  # sweeper lease; repository-internal
        Column("vendor", String, nullable=False),  # the payment's, so the index below can see it
        Column("amount_paid_minor", BigInteger),  # what the vendor reported paid, once settled
        Column("amount_paid_currency", String(3)),
    )
    # One vendor trade settles one attempt, of one payment: a second attempt recorded with
    # the same trade id is forged or re-cut evidence. Racing app instances cannot both
    # record it. NULLs (attempts not yet settled) never collide.
    Index(
        f"uq_{attempts.name}_vendor_trade_id",
        attempts.c.vendor,
        attempts.c.vendor_trade_id,
        unique=True,
    )
    Index(
        f"ix_{attempts.name}_open_expiry",
        attempts.c.expires_at,
        sqlite_where=attempts.c.state == "OPEN",
        postgresql_where=attempts.c.state == "OPEN",
    )
    return attempts


def _idempotency_records(metadata: MetaData, prefix: str, payments: Table) -> Table:
    return Table(
        f"{prefix}idempotency_records",
        metadata,
        Column("payer", String, nullable=False),
        Column("key", String, nullable=False),
        Column("fingerprint", String, nullable=False),
        _payment_id(payments),
        PrimaryKeyConstraint("payer", "key"),
    )


def _status_changes(metadata: MetaData, prefix: str, payments: Table, refunds: Table) -> Table:
    # One outbox, one id order: a row with a refund_id is a change of that refund's
    # status (its payment_id is the refund's payment), any other a payment's.
    status_changes = Table(
        f"{prefix}status_changes",
        metadata,
        Column("id", Id, primary_key=True, autoincrement=True),
        _payment_id(payments),
        Column("refund_id", Id, ForeignKey(refunds.c.id, ondelete="CASCADE")),
        Column("previous_status", String(16)),
        Column("current_status", String(16), nullable=False),
        Column("changed_at", UtcDateTime, nullable=False),
        Column("delivered_to", Text, nullable=False, server_default="[]"),  # JSON list of names
        Column("done", Boolean, nullable=False, server_default=false()),
        Column("claimed_until", UtcDateTime),  # the outbox claim of one delivering process
        Column("source", String(16)),  # a ChangeSource; NULL for changes stored before 0007
    )
    Index(
        f"ix_{status_changes.name}_pending",
        status_changes.c.id,
        sqlite_where=status_changes.c.done == false(),
        postgresql_where=status_changes.c.done == false(),
    )
    return status_changes


def _refunds(metadata: MetaData, prefix: str, payments: Table) -> Table:
    refunds = Table(
        f"{prefix}refunds",
        metadata,
        Column("id", Id, primary_key=True, autoincrement=True),
        _payment_id(payments),
        Column("attempt_reference", String, nullable=False),  # the paid attempt it returns from
        Column("reference", String, nullable=False, unique=True),  # unique forever
        Column("amount_minor", BigInteger, nullable=False),
        Column("currency", String(3), nullable=False),
        Column("reason", Text),
        Column("kind", String(16), nullable=False),
        Column("status", String(16), nullable=False),
        Column("failure", String),
        Column("acknowledged", Boolean, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        Column("succeeded_at", UtcDateTime),
        Column("version", Integer, nullable=False),
        Column("claimed_until", UtcDateTime),  # sweeper lease; repository-internal
    )
    Index(
        f"ix_{refunds.name}_pending",
        refunds.c.id,
        sqlite_where=refunds.c.status == "PENDING",
        postgresql_where=refunds.c.status == "PENDING",
    )
    return refunds


def _refund_idempotency(metadata: MetaData, prefix: str, refunds: Table) -> Table:
    # Apart from idempotency_records: a refund's key belongs to its requester's refund
    # requests, and its record names a refund, not a payment.
    return Table(
        f"{prefix}refund_idempotency",
        metadata,
        Column("requester", String, nullable=False),
        Column("key", String, nullable=False),
        Column("fingerprint", String, nullable=False),
        Column(
            "refund_id",
            Id,
            ForeignKey(refunds.c.id, ondelete="CASCADE"),
            nullable=False,
        ),
        PrimaryKeyConstraint("requester", "key"),
    )


def _subscribers(metadata: MetaData, prefix: str) -> Table:
    # The durable hearers of status changes: a change is done once its delivered_to holds
    # every subscriber not retired (see payments_core.ports.Outbox).
    return Table(
        f"{prefix}subscribers",
        metadata,
        Column("name", String, primary_key=True),  # a status hook's plugin name
        Column("registered_at", UtcDateTime, nullable=False),  # by a process, most recently
        Column("retired_at", UtcDateTime),  # NULL while changes wait for it
    )


# The unprefixed tables of every deployment so far (``Layout()``); the repository and
# the migrations take theirs from ``tables_for(layout.table_prefix)``.
DEFAULT: Final = tables_for("")
metadata: Final = DEFAULT.metadata
payments: Final = DEFAULT.payments
attempts: Final = DEFAULT.attempts
idempotency_records: Final = DEFAULT.idempotency_records
status_changes: Final = DEFAULT.status_changes
subscribers: Final = DEFAULT.subscribers
refunds: Final = DEFAULT.refunds
refund_idempotency: Final = DEFAULT.refund_idempotency
LIVE_ORDER_INDEX: Final = DEFAULT.live_order_index
TRADE_ID_INDEX: Final = DEFAULT.trade_id_index
