"""The SQL statements of the repository, built once per prefix so their compiled forms are cached."""

from __future__ import annotations

import json
from functools import cache, lru_cache
from typing import Any, Final

from sqlalchemy import (
    Boolean,
    ColumnClause,
    ColumnElement,
    Select,
    String,
    Table,
    Update,
    bindparam,
    exists,
    false,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from payments_core.listing import PaymentQuery
from payments_sqlstore.tables import Tables, UtcDateTime, tables_for

# Literals (not bound values) so that PostgreSQL matches the partial indexes.
_INVALID: Final[ColumnClause[str]] = literal_column("'INVALID'", String)
_PENDING: Final[ColumnClause[str]] = literal_column("'PENDING'", String)
_OPEN: Final[ColumnClause[str]] = literal_column("'OPEN'", String)

# The columns a saved refund may change; the rest say what the refund is (its payment,
# attempt, reference, amount, kind and creation).
REFUND_CHANGES: Final = (
    "reason",
    "status",
    "failure",
    "acknowledged",
    "updated_at",
    "succeeded_at",
    "version",
)

# Column order matters: rows.payment_from_rows unpacks these rows by position.
_ATTEMPT_COLUMNS: Final = (
    "reference",
    "order_string",
    "opened_at",
    "expires_at",
    "state",
    "vendor_trade_id",
    "amount_paid_minor",
    "amount_paid_currency",
)
# The filters of a page, in PaymentQuery's names: each present one adds one condition.
_FILTERS: Final = ("payer", "status", "order_id", "created_from", "created_to", "before")


@cache
def statements_for(prefix: str) -> Statements:
    """The statements on the tables named with ``prefix``, built once."""
    return Statements(tables_for(prefix))


class Statements:
    """Every statement of the repository on one set of ``tables``."""

    def __init__(self, tables: Tables) -> None:
        self.tables: Final = tables
        payments, attempts = tables.payments, tables.attempts
        self._columns = (
            *payments.c,
            *(attempts.c[n].label(f"a_{n}") for n in _ATTEMPT_COLUMNS),
        )
        load = (
            select(*self._columns)
            .select_from(payments.outerjoin(attempts, attempts.c.payment_id == payments.c.id))
            .order_by(attempts.c.seq)
        )
        self.get: Final = load.where(payments.c.id == bindparam("id"))
        self.by_reference: Final = load.where(
            payments.c.id
            == select(attempts.c.payment_id)
            .where(attempts.c.reference == bindparam("reference"))
            .scalar_subquery()
        )
        self.for_order: Final = load.where(payments.c.order_id == bindparam("order_id")).where(
            payments.c.status != _INVALID
        )
        self.exists: Final = select(payments.c.id).where(payments.c.id == bindparam("id"))
        self.ping: Final = select(payments.c.id).limit(0)  # a round trip that reads no row

        self.insert_payment: Final = insert(payments)
        self.insert_attempt: Final = insert(attempts)
        self.insert_record: Final = insert(tables.idempotency_records)
        self.insert_change: Final = insert(tables.status_changes)
        self.update_payment: Final = update(payments).where(
            payments.c.id == bindparam("b_id"), payments.c.version == bindparam("b_version")
        )
        self.update_attempt: Final = update(attempts).where(
            attempts.c.reference == bindparam("b_reference"),
            attempts.c.payment_id == bindparam("b_payment_id"),
        )
        self.delete_attempt: Final = (
            attempts.delete()
            .where(attempts.c.reference == bindparam("b_reference"))
            .where(attempts.c.payment_id == bindparam("b_payment_id"))
        )
        self.claim: Final = _claim(tables)
        changes = tables.status_changes
        self.changes_of: Final = (
            select(changes)
            .where(changes.c.payment_id == bindparam("payment_id"))
            .where(changes.c.refund_id.is_(None))  # a refund's changes are not the payment's
            .order_by(changes.c.id)
        )
        records = tables.idempotency_records
        self.find_record: Final = select(records).where(
            records.c.payer == bindparam("payer"), records.c.key == bindparam("key")
        )
        self._outbox(tables)
        self._subscribers(tables)
        self._refunds(tables)

    def page(self, query: PaymentQuery) -> tuple[Select[Any], dict[str, Any]]:
        """The statement reading one page of ``query`` and its values.

        The page's ids are chosen first (newest first, from an index; see
        ``tables._listing_indexes``), then joined to their attempts: one statement,
        rows ordered by payment (newest first), then attempt.
        """
        values = {name: getattr(query, name) for name in _FILTERS}
        present = tuple(name for name in _FILTERS if values[name] is not None)
        params = {name: values[name] for name in present} | {"limit": query.limit}
        if query.status is not None:
            params["status"] = query.status.value
        return self._page(present), params

    @lru_cache(maxsize=64)  # noqa: B019 - one Statements per prefix lives as long as the process
    def _page(self, present: tuple[str, ...]) -> Select[Any]:
        payments, attempts = self.tables.payments, self.tables.attempts
        conditions = {
            "payer": payments.c.payer == bindparam("payer"),
            "status": payments.c.status == bindparam("status"),
            "order_id": payments.c.order_id == bindparam("order_id"),
            "created_from": payments.c.created_at >= bindparam("created_from", type_=UtcDateTime()),
            "created_to": payments.c.created_at < bindparam("created_to", type_=UtcDateTime()),
            "before": payments.c.id < bindparam("before"),
        }
        newest_first = payments.c.id.desc()
        if "created_from" in present:
            # Ids grow with creation times, which no planner knows: walking the ids down to
            # a window in the past reads every payment created since. Ordering by an
            # expression (the same order) rules that walk out, so the window is read from
            # its index and sorted: a page then costs what the window holds, however many
            # payments were made after it.
            newest_first = (payments.c.id + literal_column("0")).desc()
        chosen = (
            select(payments.c.id)
            .where(*(conditions[name] for name in present))
            .order_by(newest_first)
            .limit(bindparam("limit"))
            .subquery("chosen")
        )
        return (
            select(*self._columns)
            .select_from(
                payments.join(chosen, chosen.c.id == payments.c.id).outerjoin(
                    attempts, attempts.c.payment_id == payments.c.id
                )
            )
            .order_by(payments.c.id.desc(), attempts.c.seq)
        )

    def claim_changes(self, hooks: tuple[str, ...]) -> Update:
        """Claim the pending changes lacking one of ``hooks`` (every one while nobody subscribes)."""
        return _claim_changes(self.tables, hooks)

    def waiting_for(self, name: str) -> Select[Any]:
        """How many pending changes lack ``name``."""
        changes = self.tables.status_changes
        pending = changes.c.done == false()
        return select(func.count()).select_from(changes).where(pending, _lacks(changes, name))

    def _outbox(self, tables: Tables) -> None:
        changes = tables.status_changes
        self.pending_changes = (
            select(changes)
            .where(changes.c.done == false())
            .order_by(changes.c.id)
            .limit(bindparam("limit"))
        )
        self.deliveries = (
            select(changes.c.id, changes.c.delivered_to, changes.c.done)
            .where(changes.c.id.in_(bindparam("ids", expanding=True)))
            .with_for_update()
        )
        self.mark_delivered = update(changes).where(changes.c.id == bindparam("b_id"))
        self.settle_changes = (
            update(changes)
            .where(changes.c.id.in_(bindparam("ids", expanding=True)))
            .values(
                done=or_(changes.c.done, bindparam("done", type_=Boolean())),
                claimed_until=None,
            )
        )
        self.pending_deliveries = (
            select(changes.c.id, changes.c.delivered_to)
            .where(changes.c.done == false())
            .with_for_update()
        )
        self.retire_changes = (
            update(changes)
            .where(changes.c.id.in_(bindparam("ids", expanding=True)))
            .values(done=true(), claimed_until=None)
        )

    def _refunds(self, tables: Tables) -> None:
        refunds, records = tables.refunds, tables.refund_idempotency
        self.insert_refund = insert(refunds)
        self.insert_refund_record = insert(records)
        self.get_refund = select(refunds).where(refunds.c.id == bindparam("id"))
        self.refunds_for = (
            select(refunds)
            .where(refunds.c.payment_id == bindparam("payment_id"))
            .order_by(refunds.c.id)
        )
        self.refunds_in = (
            select(refunds)
            .where(refunds.c.status == bindparam("status"), refunds.c.id > bindparam("after"))
            .order_by(refunds.c.id)
            .limit(bindparam("limit"))
        )
        # Executed with REFUND_CHANGES only: what a refund is never changes.
        self.update_refund = update(refunds).where(
            refunds.c.id == bindparam("b_id"), refunds.c.version == bindparam("b_version")
        )
        self.find_refund_record = select(records).where(
            records.c.requester == bindparam("requester"), records.c.key == bindparam("key")
        )
        self.claim_refunds = _claim_refunds(tables)

    def _subscribers(self, tables: Tables) -> None:
        subscribers = tables.subscribers
        self.active_subscribers = select(subscribers.c.name).where(_active(subscribers))
        self.subscribers = select(subscribers).order_by(subscribers.c.name)
        self.subscriber = (
            select(subscribers).where(subscribers.c.name == bindparam("name")).with_for_update()
        )
        self.retire_subscriber = (
            update(subscribers)
            .where(subscribers.c.name == bindparam("b_name"))
            .values(retired_at=bindparam("now", type_=UtcDateTime()))
        )
        # The registration statement per dialect name: both spell an upsert ``ON CONFLICT``.
        self.register = {
            "sqlite": _register(sqlite, subscribers),
            "postgresql": _register(postgresql, subscribers),
        }


def _active(subscribers: Table) -> ColumnElement[bool]:
    return subscribers.c.retired_at.is_(None)


def _lacks(changes: Table, name: str) -> ColumnElement[bool]:
    """Whether a change's ``delivered_to`` (a JSON list) lacks ``name``.

    Subscriber names hold no quote or backslash (``subscriber_name_problem``), so the
    quoted name occurs in the JSON text exactly when it is one of its elements.
    """
    return ~changes.c.delivered_to.contains(json.dumps(name), autoescape=True)


@lru_cache(maxsize=64)
def _claim_changes(tables: Tables, hooks: tuple[str, ...]) -> Update:
    changes, subscribers = tables.status_changes, tables.subscribers
    nobody = ~exists(select(subscribers.c.name).where(_active(subscribers)))
    claimable = (
        select(changes.c.id)
        .where(changes.c.done == false())
        .where(
            or_(
                changes.c.claimed_until.is_(None),
                changes.c.claimed_until <= bindparam("now", type_=UtcDateTime()),
            )
        )
        .where(or_(nobody, *(_lacks(changes, name) for name in hooks)))
        .order_by(changes.c.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True, of=changes)  # SQLite: BEGIN IMMEDIATE
    )
    return (
        update(changes)
        .where(changes.c.id.in_(claimable.scalar_subquery()))
        .values(claimed_until=bindparam("until", type_=UtcDateTime()))
        .returning(*changes.c)
    )


def _register(dialect: Any, subscribers: Table) -> Any:
    """Insert each subscriber, or make it active again with its new registration time."""
    statement = dialect.insert(subscribers)
    return statement.on_conflict_do_update(
        index_elements=[subscribers.c.name],
        set_={"registered_at": statement.excluded.registered_at, "retired_at": None},
    )


def _claim(tables: Tables) -> Update:
    payments, attempts = tables.payments, tables.attempts
    due = (
        select(attempts.c.reference)
        .join(payments, payments.c.id == attempts.c.payment_id)
        .where(attempts.c.state == _OPEN, payments.c.status == _PENDING)
        .where(
            or_(
                attempts.c.claimed_until.is_(None),
                attempts.c.claimed_until <= bindparam("now", type_=UtcDateTime()),
            )
        )
        .order_by(attempts.c.expires_at, attempts.c.payment_id, attempts.c.reference)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True, of=attempts)  # SQLite: BEGIN IMMEDIATE serializes
    )
    return (
        update(attempts)
        .where(attempts.c.reference.in_(due.scalar_subquery()))
        .values(claimed_until=bindparam("until", type_=UtcDateTime()))
        .returning(attempts.c.payment_id, attempts.c.reference, attempts.c.expires_at)
    )


def _claim_refunds(tables: Tables) -> Update:
    refunds = tables.refunds
    due = (
        select(refunds.c.id)
        .where(refunds.c.status == _PENDING)
        .where(
            or_(
                refunds.c.claimed_until.is_(None),
                refunds.c.claimed_until <= bindparam("now", type_=UtcDateTime()),
            )
        )
        .order_by(refunds.c.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True, of=refunds)  # SQLite: BEGIN IMMEDIATE serializes
    )
    return (
        update(refunds)
        .where(refunds.c.id.in_(due.scalar_subquery()))
        .values(claimed_until=bindparam("until", type_=UtcDateTime()))
        .returning(*refunds.c)
    )
