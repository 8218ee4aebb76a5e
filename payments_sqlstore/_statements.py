"""The SQL statements of the repository, built once so their compiled forms are cached."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Final

from sqlalchemy import (
    Boolean,
    ColumnClause,
    ColumnElement,
    Select,
    String,
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

from payments_sqlstore.tables import (
    UtcDateTime,
    attempts,
    idempotency_records,
    payments,
    status_changes,
    subscribers,
)

# Literals (not bound values) so that PostgreSQL matches the partial indexes.
_INVALID: Final[ColumnClause[str]] = literal_column("'INVALID'", String)
_PENDING: Final[ColumnClause[str]] = literal_column("'PENDING'", String)
_OPEN: Final[ColumnClause[str]] = literal_column("'OPEN'", String)

# Column order matters: rows.payment_from_rows unpacks these rows by position.
_ATTEMPT_COLUMNS: Final = (
    "reference",
    "order_string",
    "opened_at",
    "expires_at",
    "state",
    "vendor_trade_id",
)
_LOAD: Final = (
    select(*payments.c, *(attempts.c[name].label(f"a_{name}") for name in _ATTEMPT_COLUMNS))
    .select_from(payments.outerjoin(attempts, attempts.c.payment_id == payments.c.id))
    .order_by(attempts.c.seq)
)

GET: Final = _LOAD.where(payments.c.id == bindparam("id"))
BY_REFERENCE: Final = _LOAD.where(
    payments.c.id
    == select(attempts.c.payment_id)
    .where(attempts.c.reference == bindparam("reference"))
    .scalar_subquery()
)
FOR_ORDER: Final = _LOAD.where(payments.c.order_id == bindparam("order_id")).where(
    payments.c.status != _INVALID
)
EXISTS: Final = select(payments.c.id).where(payments.c.id == bindparam("id"))
PING: Final = select(payments.c.id).limit(0)  # a round trip that reads no row

INSERT_PAYMENT: Final = insert(payments)
INSERT_ATTEMPT: Final = insert(attempts)
INSERT_RECORD: Final = insert(idempotency_records)
INSERT_CHANGE: Final = insert(status_changes)

UPDATE_PAYMENT: Final = update(payments).where(
    payments.c.id == bindparam("b_id"), payments.c.version == bindparam("b_version")
)
UPDATE_ATTEMPT: Final = update(attempts).where(
    attempts.c.reference == bindparam("b_reference"),
    attempts.c.payment_id == bindparam("b_payment_id"),
)
DELETE_ATTEMPT: Final = (
    attempts.delete()
    .where(attempts.c.reference == bindparam("b_reference"))
    .where(attempts.c.payment_id == bindparam("b_payment_id"))
)

_due: Final = (
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
CLAIM: Final = (
    update(attempts)
    .where(attempts.c.reference.in_(_due.scalar_subquery()))
    .values(claimed_until=bindparam("until", type_=UtcDateTime()))
    .returning(attempts.c.payment_id, attempts.c.reference, attempts.c.expires_at)
)

FIND_RECORD: Final = select(idempotency_records).where(
    idempotency_records.c.payer == bindparam("payer"),
    idempotency_records.c.key == bindparam("key"),
)
PENDING_CHANGES: Final = (
    select(status_changes)
    .where(status_changes.c.done == false())
    .order_by(status_changes.c.id)
    .limit(bindparam("limit"))
)
_ACTIVE: Final = subscribers.c.retired_at.is_(None)


def _lacks(name: str) -> ColumnElement[bool]:
    """Whether a change's ``delivered_to`` (a JSON list) lacks ``name``.

    Subscriber names hold no quote or backslash (``subscriber_name_problem``), so the
    quoted name occurs in the JSON text exactly when it is one of its elements.
    """
    return ~status_changes.c.delivered_to.contains(json.dumps(name), autoescape=True)


@lru_cache(maxsize=64)
def claim_changes(hooks: tuple[str, ...]) -> Update:
    """Claim the pending changes lacking one of ``hooks`` (every one while nobody subscribes)."""
    nobody = ~exists(select(subscribers.c.name).where(_ACTIVE))
    claimable = (
        select(status_changes.c.id)
        .where(status_changes.c.done == false())
        .where(
            or_(
                status_changes.c.claimed_until.is_(None),
                status_changes.c.claimed_until <= bindparam("now", type_=UtcDateTime()),
            )
        )
        .where(or_(nobody, *(_lacks(name) for name in hooks)))
        .order_by(status_changes.c.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True, of=status_changes)  # SQLite: BEGIN IMMEDIATE
    )
    return (
        update(status_changes)
        .where(status_changes.c.id.in_(claimable.scalar_subquery()))
        .values(claimed_until=bindparam("until", type_=UtcDateTime()))
        .returning(*status_changes.c)
    )


def waiting_for(name: str) -> Select[Any]:
    """How many pending changes lack ``name``."""
    pending = status_changes.c.done == false()
    return select(func.count()).select_from(status_changes).where(pending, _lacks(name))


ACTIVE_SUBSCRIBERS: Final = select(subscribers.c.name).where(_ACTIVE)
SUBSCRIBERS: Final = select(subscribers).order_by(subscribers.c.name)
SUBSCRIBER: Final = (
    select(subscribers).where(subscribers.c.name == bindparam("name")).with_for_update()
)
RETIRE_SUBSCRIBER: Final = (
    update(subscribers)
    .where(subscribers.c.name == bindparam("b_name"))
    .values(retired_at=bindparam("now", type_=UtcDateTime()))
)
PENDING_DELIVERIES: Final = (
    select(status_changes.c.id, status_changes.c.delivered_to)
    .where(status_changes.c.done == false())
    .with_for_update()
)
RETIRE_CHANGES: Final = (
    update(status_changes)
    .where(status_changes.c.id.in_(bindparam("ids", expanding=True)))
    .values(done=true(), claimed_until=None)
)


def _register(dialect: Any) -> Any:
    """Insert each subscriber, or make it active again with its new registration time."""
    statement = dialect.insert(subscribers)
    return statement.on_conflict_do_update(
        index_elements=[subscribers.c.name],
        set_={"registered_at": statement.excluded.registered_at, "retired_at": None},
    )


REGISTER: Final = {"sqlite": _register(sqlite), "postgresql": _register(postgresql)}
"""The registration statement per dialect name: both spell an upsert ``ON CONFLICT``."""

DELIVERIES: Final = (
    select(status_changes.c.id, status_changes.c.delivered_to, status_changes.c.done)
    .where(status_changes.c.id.in_(bindparam("ids", expanding=True)))
    .with_for_update()
)
MARK_DELIVERED: Final = update(status_changes).where(status_changes.c.id == bindparam("b_id"))
SETTLE_CHANGES: Final = (
    update(status_changes)
    .where(status_changes.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        done=or_(status_changes.c.done, bindparam("done", type_=Boolean())),
        claimed_until=None,
    )
)
