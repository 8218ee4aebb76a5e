"""``SqlPaymentRepository``: the core's ``PaymentRepository`` port on SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from attrs import evolve
from sqlalchemy import Connection, Engine, Executable, Row, Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from payments_core.errors import (
    ConcurrencyConflict,
    PaymentExists,
    PaymentNotFound,
    SubscriberNotFound,
)
from payments_core.listing import PaymentQuery
from payments_core.payment import Payment, PaymentId
from payments_core.refund import Refund, RefundId, RefundStatus
from payments_core.values import (
    Change,
    ChangeSource,
    Delivery,
    DueAttempt,
    IdempotencyClaim,
    IdempotencyRecord,
    RefundIdempotencyRecord,
    StatusChange,
    Subscriber,
    subscriber_name_problem,
)
from payments_sqlstore._oneshot import LiveOrderTaken
from payments_sqlstore._sqlite import SqliteStatements
from payments_sqlstore._statements import Statements, statements_for
from payments_sqlstore._writerlock import WriterLock
from payments_sqlstore.engine import (
    DEFAULT_TIMEOUT,
    begin_writing,
    make_engine,
    reader,
    store_errors,
    unavailable,
)
from payments_sqlstore.layout import Layout
from payments_sqlstore.refunds import SqlRefunds
from payments_sqlstore.rows import (
    change_from_row,
    names_from_text,
    names_to_text,
    payment_from_rows,
    payments_from_rows,
    record_from_row,
)

if TYPE_CHECKING:
    from payments_sqlstore._postgres import PostgresStatements

_ADD_TRIES = 3  # a live payment that turns INVALID while we look for it is retried


class SqlPaymentRepository:
    """Payments, their attempts, refunds, idempotency records and the outbox in one SQL database.

    Every method is one transaction (reads: one autocommit statement). Database
    failures surface as ``StoreUnavailable`` and leave nothing half written.
    """

    def __init__(self, engine: Engine, *, layout: Layout | None = None) -> None:
        """Use ``engine`` (best made by :func:`payments_sqlstore.make_engine`) and the tables
        named by ``layout`` (by default the unprefixed ones)."""
        self._engine = engine
        self._sql = statements_for((layout or Layout()).table_prefix)
        self._reader = reader(engine)
        # SQLite lets one writer in at a time and makes the others sleep and poll for
        # up to 100 ms; writers queue on a lock of ours instead (see _writerlock).
        self._write_lock: AbstractContextManager[object] = (
            _sqlite_writer_lock(engine) if engine.dialect.name == "sqlite" else nullcontext()
        )
        # A payment is read and written on the driver's own connection: SQLAlchemy's
        # Connection was the request path's largest cost (see _postgres and _sqlite).
        self._fast = _fast_path(engine, self._write_lock, self._sql)
        self._refunds = SqlRefunds(self._sql, self._writing, self._read)

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One write transaction, its failures turned into ``StoreUnavailable``."""
        with store_errors(), self._write_lock, self._engine.begin() as conn:
            yield conn

    @classmethod
    def from_url(
        cls, url: str, *, layout: Layout | None = None, **engine_options: Any
    ) -> SqlPaymentRepository:
        """A repository on a new engine for ``url`` (see ``make_engine`` for the options)."""
        return cls(make_engine(url, **engine_options), layout=layout)

    @property
    def engine(self) -> Engine:
        """The engine this repository writes through."""
        return self._engine

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()
        if isinstance(self._write_lock, WriterLock):
            self._write_lock.close()

    def ping(self) -> None:
        """Check that the database answers. Raises: StoreUnavailable."""
        self._read(self._sql.ping, {})

    def add(
        self,
        payment: Payment,
        *,
        idempotency: IdempotencyClaim | None = None,
        source: ChangeSource = ChangeSource.CREATE,
    ) -> Payment:
        """Store a new payment, its attempts, its idempotency claim and its creation as a status change."""
        for _ in range(_ADD_TRIES):
            try:
                stored = evolve(payment, version=1)
                return evolve(stored, id=self._fast.insert(stored, idempotency, source))
            except LiveOrderTaken:
                live = self.find_for_order(payment.order_id)
                if live is not None and live.id is not None:
                    raise PaymentExists(live.id) from None
        raise PaymentExists(-1)  # pragma: no cover - the live payment keeps vanishing

    def get(self, payment_id: PaymentId) -> Payment:
        """The payment ``payment_id``. Raises: PaymentNotFound, StoreUnavailable."""
        rows = self._load(self._sql.get, {"id": payment_id})
        if not rows:
            raise PaymentNotFound(payment_id)
        return payment_from_rows(rows)

    def get_by_reference(self, reference: str) -> Payment:
        """The payment owning the attempt ``reference``."""
        rows = self._load(self._sql.by_reference, {"reference": reference})
        if not rows:
            raise PaymentNotFound(reference)
        return payment_from_rows(rows)

    def find_for_order(self, order_id: str) -> Payment | None:
        """The order's live (not INVALID) payment, if any."""
        rows = self._load(self._sql.for_order, {"order_id": order_id})
        return payment_from_rows(rows) if rows else None

    def save(
        self,
        payment: Payment,
        *,
        previous: Payment,
        refunds: Sequence[Refund] = (),
        source: ChangeSource | None = None,
    ) -> Payment:
        """Compare-and-set ``payment`` over ``previous``; record a status change (from
        ``source``) if any, and store ``refunds`` (each with its creation) in the same
        transaction."""
        if previous.id is None:
            raise PaymentNotFound("(unsaved)")
        if payment.id not in (None, previous.id):
            raise ValueError(f"cannot save payment {payment.id} over payment {previous.id}")
        stored = evolve(payment, id=previous.id, version=previous.version + 1)
        new = [evolve(refund, id=None, version=1) for refund in refunds]
        if not self._fast.save(stored, previous, source, new):
            raise self._stale(previous)
        return stored

    def page(self, query: PaymentQuery) -> Sequence[Payment]:
        """The newest payments matching ``query``, with their attempts, in one statement."""
        if query.limit <= 0:
            return []
        statement, params = self._sql.page(query)
        return payments_from_rows(self._load(statement, params))

    def status_changes(self, payment_id: PaymentId) -> Sequence[StatusChange]:
        """Every stored status change of the payment, oldest first."""
        rows = self._read(self._sql.changes_of, {"payment_id": payment_id})
        return [c for c in map(change_from_row, rows) if isinstance(c, StatusChange)]

    def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> Sequence[DueAttempt]:
        """Lease up to ``limit`` open attempts of pending payments, oldest expiry first."""
        if limit <= 0:
            return []
        params = {"now": now, "until": now + lease, "limit": limit}
        with self._writing() as conn:
            rows = list(conn.execute(self._sql.claim, params).all())
        rows.sort(key=lambda row: (row.expires_at, row.payment_id, row.reference))
        return [DueAttempt(payment_id=row.payment_id, reference=row.reference) for row in rows]

    def add_refund(self, refund: Refund, *, idempotency: IdempotencyClaim | None = None) -> Refund:
        """Store a new refund (``payments_core.ports.Refunds.add_refund``)."""
        return self._refunds.add_refund(refund, idempotency=idempotency)

    def get_refund(self, refund_id: RefundId) -> Refund:
        """The refund ``refund_id``. Raises: RefundNotFound, StoreUnavailable."""
        return self._refunds.get_refund(refund_id)

    def refunds_for(self, payment_id: PaymentId) -> Sequence[Refund]:
        """The payment's refunds, oldest first."""
        return self._refunds.refunds_for(payment_id)

    def refunds_in(
        self, status: RefundStatus, *, limit: int, after: RefundId = 0
    ) -> Sequence[Refund]:
        """Up to ``limit`` refunds in ``status`` with an id above ``after``, oldest first."""
        return self._refunds.refunds_in(status, limit=limit, after=after)

    def save_refund(self, refund: Refund, *, previous: Refund) -> Refund:
        """Compare-and-set ``refund`` over ``previous`` (``Refunds.save_refund``)."""
        return self._refunds.save_refund(refund, previous=previous)

    def find_idempotent_refund(self, requester: str, key: str) -> RefundIdempotencyRecord | None:
        """The record of ``key`` used by ``requester`` for a refund, if any."""
        return self._refunds.find_idempotent_refund(requester, key)

    def claim_due_refunds(self, now: datetime, *, limit: int, lease: timedelta) -> Sequence[Refund]:
        """Lease up to ``limit`` PENDING refunds, oldest first."""
        return self._refunds.claim_due_refunds(now, limit=limit, lease=lease)

    def find_idempotent(self, payer: str, key: str) -> IdempotencyRecord | None:
        """The record of ``key`` used by ``payer``, if any."""
        rows = self._read(self._sql.find_record, {"payer": payer, "key": key})
        return record_from_row(rows[0]) if rows else None

    def pending_changes(self, *, limit: int) -> Sequence[Change]:
        """Up to ``limit`` undelivered changes (payments' and refunds'), oldest first."""
        return [
            change_from_row(row) for row in self._read(self._sql.pending_changes, {"limit": limit})
        ]

    def claim_changes(
        self, now: datetime, *, limit: int, lease: timedelta, hooks: Collection[str] = ()
    ) -> Sequence[Change]:
        """Lease up to ``limit`` pending, unclaimed changes the caller can move on, oldest first."""
        if limit <= 0:
            return []
        params = {"now": now, "until": now + lease, "limit": limit}
        statement = self._sql.claim_changes(tuple(sorted(set(hooks))))
        with self._writing() as conn:
            rows = list(conn.execute(statement, params).all())
        return sorted((change_from_row(row) for row in rows), key=lambda change: change.id)

    def mark_delivered(self, deliveries: Sequence[Delivery]) -> None:
        """Record who has seen each change in one transaction; retire or release each.

        A change is retired when the caller is done with it and every active subscriber
        has it. Unknown ids are ignored; a retired change stays retired.
        """
        if not deliveries:
            return
        with self._writing() as conn:
            begin_writing(conn)
            anyone = conn.execute(self._sql.active_subscribers.limit(1)).first() is not None
            # Nobody new has seen these (no hook, or every hook failed) and no subscriber
            # can be missing: one statement per outcome retires or releases them all.
            plain = [d for d in deliveries if not d.to and not (d.done and anyone)]
            for done in (True, False):
                ids = [d.change_id for d in plain if d.done is done]
                if ids:
                    conn.execute(self._sql.settle_changes, {"ids": ids, "done": done})
            named = [d for d in deliveries if d.to or (d.done and anyone)]
            if named:
                _merge_deliveries(conn, self._sql, named)

    def register_subscribers(self, names: Collection[str], now: datetime) -> None:
        """Register ``names``, or register them again (see ``payments_core.ports.Outbox``)."""
        for name in names:
            problem = subscriber_name_problem(name)
            if problem:
                raise ValueError(f"{problem}: {name!r}")
        if not names:
            return
        rows = [{"name": name, "registered_at": now} for name in sorted(set(names))]
        with self._writing() as conn:
            conn.execute(self._sql.register[self._engine.dialect.name], rows)

    def retire_subscriber(self, name: str, now: datetime) -> int:
        """Stop waiting for ``name``; retire, in the same transaction, what it alone lacked."""
        with self._writing() as conn:
            begin_writing(conn)
            subscriber = conn.execute(self._sql.subscriber, {"name": name}).first()
            if subscriber is None:
                raise SubscriberNotFound(name)
            if subscriber.retired_at is not None:
                return 0
            conn.execute(self._sql.retire_subscriber, {"b_name": name, "now": now})
            active = frozenset(conn.execute(self._sql.active_subscribers).scalars())
            pending = conn.execute(self._sql.pending_deliveries).all()
            ids = [row.id for row in pending if active <= names_from_text(row.delivered_to)]
            if ids:
                conn.execute(self._sql.retire_changes, {"ids": ids})
            return len(ids)

    def subscribers(self) -> Sequence[Subscriber]:
        """Every subscriber by name, with the pending changes waiting for each active one."""
        found = []
        for row in self._read(self._sql.subscribers, {}):
            subscriber = Subscriber(
                name=row.name, registered_at=row.registered_at, retired_at=row.retired_at
            )
            if subscriber.active:
                (waiting,) = self._read(self._sql.waiting_for(row.name), {})
                subscriber = evolve(subscriber, pending=int(waiting[0]))
            found.append(subscriber)
        return found

    def _load(self, statement: Select[Any], params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """The rows of one payment (``payment_from_rows``); the hot path of every request."""
        return self._fast.fetch(statement, params)

    def _read(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[Row[Any]]:
        # No context manager here: this is the hot path of every read.
        try:
            try:
                with self._reader.connect() as conn:
                    return conn.execute(statement, params).all()
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
            with self._reader.connect() as conn:  # once more, on a fresh connection
                return conn.execute(statement, params).all()
        except (DBAPIError, PoolTimeout) as exc:
            error = unavailable(exc)
            if error is None:
                raise
            raise error from exc

    def _stale(self, previous: Payment) -> Exception:
        if not self._load(self._sql.exists, {"id": previous.id}):
            return PaymentNotFound(previous.id or 0)
        return ConcurrencyConflict(previous.id, previous.version)


def _fast_path(
    engine: Engine, writer_lock: AbstractContextManager[object], sql: Statements
) -> PostgresStatements | SqliteStatements:
    if engine.dialect.name == "sqlite":
        return SqliteStatements(engine, writer_lock, sql)
    if (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg"):
        # imported here: psycopg is the optional `postgres` extra, SQLite needs none of it
        from payments_sqlstore._postgres import PostgresStatements

        return PostgresStatements(engine, sql.tables)
    raise ValueError(
        f"the payment store needs SQLite or PostgreSQL through psycopg 3, not {engine.url.drivername}"
    )


def _sqlite_writer_lock(engine: Engine) -> WriterLock:
    """The writer lock of ``engine``'s file (threads only for an in-memory database)."""
    database = engine.url.database
    with engine.connect() as conn:  # the busy timeout make_engine set, or SQLite's default
        busy_ms = conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0
    on_disk = database not in (None, "", ":memory:") and not database.startswith("file:")
    return WriterLock(database if on_disk else None, timeout=busy_ms / 1000 or DEFAULT_TIMEOUT)


def _merge_deliveries(conn: Connection, sql: Statements, deliveries: Sequence[Delivery]) -> None:
    """Add each delivery's names to its change's under a row lock; retire the complete ones.

    The subscribers are read after the lock is taken: a subscriber retired meanwhile,
    whose retirement looked at this change before these names were added, is then not
    waited for (on PostgreSQL each statement sees what was committed before it).
    """
    ids = [d.change_id for d in deliveries]
    stored = {row.id: row for row in conn.execute(sql.deliveries, {"ids": ids})}
    active = frozenset(conn.execute(sql.active_subscribers).scalars())
    values = []
    for d in deliveries:
        row = stored.get(d.change_id)
        if row is None:
            continue
        seen = names_from_text(row.delivered_to) | d.to
        done = row.done or (d.done and active <= seen)
        values.append(
            {
                "b_id": d.change_id,
                "delivered_to": names_to_text(seen),
                "done": done,
                "claimed_until": None,
            }
        )
    if values:
        conn.execute(sql.mark_delivered, values)
