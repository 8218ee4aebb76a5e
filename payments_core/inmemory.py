"""In-memory adapters that behave like the real ones: same errors, same compare-and-set.

For tests, examples and embedding; nothing here survives the process.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from attrs import evolve

from payments_core.errors import (
    ConcurrencyConflict,
    DuplicateReference,
    DuplicateTradeId,
    OrderNotFound,
    PaymentExists,
    PaymentNotFound,
    SubscriberNotFound,
)
from payments_core.inmemory_refunds import RefundBook
from payments_core.listing import PaymentQuery
from payments_core.payment import Payment, PaymentId, PaymentStatus
from payments_core.refund import Refund, RefundId, RefundStatus
from payments_core.values import (
    Caller,
    Change,
    ChangeSource,
    Delivery,
    DueAttempt,
    IdempotencyClaim,
    IdempotencyRecord,
    Order,
    RefundChange,
    RefundIdempotencyRecord,
    StatusChange,
    Subscriber,
    subscriber_name_problem,
)

_HOLDS_ORDER = frozenset({PaymentStatus.PENDING, PaymentStatus.TIMEOUT, PaymentStatus.CONFIRMED})


class InMemoryPaymentRepository:
    """A thread-safe PaymentRepository kept in dictionaries."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._payments: dict[PaymentId, Payment] = {}
        self._owner: dict[str, PaymentId] = {}  # attempt reference -> payment id
        self._trades: dict[tuple[str, str], str] = {}  # (vendor, trade id) -> attempt reference
        self._idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
        self._refunds = RefundBook()
        self._changes: dict[int, Change] = {}
        self._done: set[int] = set()
        self._claimed_until: dict[str, datetime] = {}
        self._change_claims: dict[int, datetime] = {}
        self._subscribers: dict[str, Subscriber] = {}

    def add(
        self,
        payment: Payment,
        *,
        idempotency: IdempotencyClaim | None = None,
        source: ChangeSource = ChangeSource.CREATE,
    ) -> Payment:
        """Store a new payment (see ``payments_core.ports.Payments.add``)."""
        with self._lock:
            existing = self._holder(payment.order_id)
            if existing is not None:
                raise PaymentExists(existing)
            self._check_references_free(a.reference for a in payment.attempts)
            self._check_trades_free(payment)
            if idempotency and (idempotency.payer, idempotency.key) in self._idempotency:
                raise DuplicateReference(f"idempotency key of {idempotency.payer}")
            stored = evolve(payment, id=len(self._payments) + 1, version=1)
            assert stored.id is not None  # noqa: S101 - set on the line above, for the type checker
            self._payments[stored.id] = stored
            self._own(stored)
            if idempotency:
                record = idempotency.recorded(stored.id)
                self._idempotency[(record.payer, record.key)] = record
            self._record_change(stored, None, source)
            return stored

    def get(self, payment_id: PaymentId) -> Payment:
        """The payment with this id. Raises: PaymentNotFound."""
        with self._lock:
            try:
                return self._payments[payment_id]
            except KeyError:
                raise PaymentNotFound(payment_id) from None

    def get_by_reference(self, reference: str) -> Payment:
        """The payment owning an attempt. Raises: PaymentNotFound."""
        with self._lock:
            try:
                return self._payments[self._owner[reference]]
            except KeyError:
                raise PaymentNotFound(reference) from None

    def find_for_order(self, order_id: str) -> Payment | None:
        """The order's live or confirmed payment, if any."""
        with self._lock:
            holder = self._holder(order_id)
            return None if holder is None else self._payments[holder]

    def save(
        self,
        payment: Payment,
        *,
        previous: Payment,
        refunds: Sequence[Refund] = (),
        source: ChangeSource | None = None,
    ) -> Payment:
        """Compare-and-set on the version (see ``payments_core.ports.Payments.save``)."""
        with self._lock:
            if payment.id is None or payment.id not in self._payments:
                raise PaymentNotFound(payment.id if payment.id is not None else "(unsaved)")
            if self._payments[payment.id].version != previous.version:
                raise ConcurrencyConflict(payment.id, previous.version)
            self._check_references_free(
                a.reference for a in payment.attempts if previous.attempt(a.reference) is None
            )
            self._check_trades_free(payment)
            self._refunds.check_new(refunds, None)
            stored = evolve(payment, version=previous.version + 1)
            self._disown_trades(self._payments[payment.id])
            self._payments[payment.id] = stored
            self._own(stored)
            if stored.status is not previous.status:
                self._record_change(stored, previous.status, source)
            for refund in refunds:
                self._record_refund_change(self._refunds.insert(refund), None)
            return stored

    def add_refund(self, refund: Refund, *, idempotency: IdempotencyClaim | None = None) -> Refund:
        """Store a new refund (see ``payments_core.ports.Refunds.add_refund``)."""
        with self._lock:
            if refund.payment_id not in self._payments:
                raise PaymentNotFound(refund.payment_id)
            self._refunds.check_new([refund], idempotency)
            stored = self._refunds.insert(refund, idempotency)
            self._record_refund_change(stored, None)
            return stored

    def get_refund(self, refund_id: RefundId) -> Refund:
        """The refund with this id. Raises: RefundNotFound."""
        with self._lock:
            return self._refunds.get(refund_id)

    def refunds_for(self, payment_id: PaymentId) -> Sequence[Refund]:
        """The payment's refunds, oldest first."""
        with self._lock:
            return self._refunds.of_payment(payment_id)

    def refunds_in(
        self, status: RefundStatus, *, limit: int, after: RefundId = 0
    ) -> Sequence[Refund]:
        """Up to ``limit`` refunds in ``status`` with an id above ``after``, oldest first."""
        with self._lock:
            return self._refunds.in_status(status, limit=limit, after=after)

    def save_refund(self, refund: Refund, *, previous: Refund) -> Refund:
        """Compare-and-set on the version (see ``payments_core.ports.Refunds.save_refund``)."""
        with self._lock:
            stored = self._refunds.replace(refund, previous)
            if stored.status is not previous.status:
                self._record_refund_change(stored, previous.status)
            return stored

    def find_idempotent_refund(self, requester: str, key: str) -> RefundIdempotencyRecord | None:
        """The record of this requester's refund key, if any."""
        with self._lock:
            return self._refunds.idempotent(requester, key)

    def claim_due_refunds(self, now: datetime, *, limit: int, lease: timedelta) -> Sequence[Refund]:
        """Claim PENDING refunds not claimed at ``now``, oldest first."""
        with self._lock:
            return self._refunds.claim_due(now, limit=limit, lease=lease)

    def page(self, query: PaymentQuery) -> Sequence[Payment]:
        """The newest payments matching ``query``, up to its limit."""
        with self._lock:
            newest_first = sorted(self._payments.items(), reverse=True)
            found = (p for _, p in newest_first if query.matches(p))
            return [p for _, p in zip(range(query.limit), found, strict=False)]

    def status_changes(self, payment_id: PaymentId) -> Sequence[StatusChange]:
        """Every stored change of the payment, oldest first."""
        with self._lock:
            return [
                c
                for _, c in sorted(self._changes.items())
                if isinstance(c, StatusChange) and c.payment_id == payment_id
            ]

    def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> Sequence[DueAttempt]:
        """Claim open attempts of PENDING payments, oldest expiry first."""
        with self._lock:
            due = sorted(
                (attempt.expires_at, payment.id, attempt.reference)
                for payment in self._payments.values()
                if payment.status is PaymentStatus.PENDING and payment.id is not None
                for attempt in payment.attempts
                if attempt.is_open() and self._claimed_until.get(attempt.reference, now) <= now
            )[:limit]
            for _, _, reference in due:
                self._claimed_until[reference] = now + lease
            return [DueAttempt(payment_id=pid, reference=ref) for _, pid, ref in due]

    def find_idempotent(self, payer: str, key: str) -> IdempotencyRecord | None:
        """The record of this payer's key, if any."""
        with self._lock:
            return self._idempotency.get((payer, key))

    def pending_changes(self, *, limit: int) -> Sequence[Change]:
        """Undelivered status changes, oldest first."""
        with self._lock:
            pending = (c for cid, c in sorted(self._changes.items()) if cid not in self._done)
            return list(pending)[:limit]

    def claim_changes(
        self, now: datetime, *, limit: int, lease: timedelta, hooks: Collection[str] = ()
    ) -> Sequence[Change]:
        """Claim, for ``lease``, the undelivered changes the caller can move on, oldest first."""
        with self._lock:
            anyone = bool(self._active())
            claimed = [
                change
                for cid, change in sorted(self._changes.items())
                if cid not in self._done
                and self._change_claims.get(cid, now) <= now
                and (not anyone or not change.delivered_to.issuperset(hooks))
            ][:limit]
            for change in claimed:
                self._change_claims[change.id] = now + lease
            return claimed

    def mark_delivered(self, deliveries: Sequence[Delivery]) -> None:
        """Record who has seen each change; retire those every subscriber has, release the rest."""
        with self._lock:
            active = self._active()
            for delivery in deliveries:
                change = self._changes.get(delivery.change_id)
                if change is None:  # as the SQL store: an unknown id is not an error
                    continue
                seen = change.delivered_to | delivery.to
                self._changes[change.id] = evolve(change, delivered_to=seen)
                self._change_claims.pop(change.id, None)
                if delivery.done and active <= seen:
                    self._done.add(change.id)

    def register_subscribers(self, names: Collection[str], now: datetime) -> None:
        """Register ``names`` (again); see ``payments_core.ports.Outbox``."""
        for name in names:
            problem = subscriber_name_problem(name)
            if problem:
                raise ValueError(f"{problem}: {name!r}")
        with self._lock:
            for name in names:
                self._subscribers[name] = Subscriber(name=name, registered_at=now)

    def retire_subscriber(self, name: str, now: datetime) -> int:
        """Stop waiting for ``name``; retire the changes it alone was missing."""
        with self._lock:
            subscriber = self._subscribers.get(name)
            if subscriber is None:
                raise SubscriberNotFound(name)
            if not subscriber.active:
                return 0
            self._subscribers[name] = evolve(subscriber, retired_at=now)
            active = self._active()
            complete = [
                cid
                for cid, change in self._changes.items()
                if cid not in self._done and active <= change.delivered_to
            ]
            self._done.update(complete)
            return len(complete)

    def subscribers(self) -> Sequence[Subscriber]:
        """Every subscriber by name, with the changes waiting for it."""
        with self._lock:
            pending = [c for cid, c in self._changes.items() if cid not in self._done]
            return [
                evolve(s, pending=sum(1 for c in pending if s.name not in c.delivered_to))
                if s.active
                else s
                for _, s in sorted(self._subscribers.items())
            ]

    def _active(self) -> frozenset[str]:
        return frozenset(name for name, s in self._subscribers.items() if s.active)

    def _holder(self, order_id: str) -> PaymentId | None:
        return next(
            (
                pid
                for pid, p in self._payments.items()
                if p.order_id == order_id and p.status in _HOLDS_ORDER
            ),
            None,
        )

    def _check_references_free(self, references: Iterable[str]) -> None:
        for reference in references:
            if reference in self._owner:
                raise DuplicateReference(reference)

    def _check_trades_free(self, payment: Payment) -> None:
        """Like the SQL store's unique index on (vendor, trade id) over all attempts."""
        seen: set[str] = set()
        for attempt in payment.attempts:
            trade = attempt.vendor_trade_id
            if trade is None:
                continue
            holder = self._trades.get((payment.vendor, trade))
            taken = holder is not None and self._owner.get(holder) != payment.id
            if trade in seen or taken:
                raise DuplicateTradeId(payment.vendor, trade)
            seen.add(trade)

    def _own(self, payment: Payment) -> None:
        for attempt in payment.attempts:
            self._owner[attempt.reference] = payment.id  # type: ignore[assignment]  # stored payments have ids
        for attempt in payment.attempts:
            if attempt.vendor_trade_id is not None:
                self._trades[(payment.vendor, attempt.vendor_trade_id)] = attempt.reference

    def _disown_trades(self, payment: Payment) -> None:
        """Forget the trade ids of ``payment`` as stored, before storing its next version."""
        for attempt in payment.attempts:
            key = (payment.vendor, attempt.vendor_trade_id or "")
            if self._trades.get(key) == attempt.reference:
                del self._trades[key]

    def _record_change(
        self, payment: Payment, previous: PaymentStatus | None, source: ChangeSource | None
    ) -> None:
        assert payment.id is not None  # noqa: S101 - only stored payments reach here
        change_id = len(self._changes) + 1
        self._changes[change_id] = StatusChange(
            id=change_id,
            payment_id=payment.id,
            previous=previous,
            current=payment.status,
            at=payment.updated_at,
            source=source,
        )

    def _record_refund_change(self, refund: Refund, previous: RefundStatus | None) -> None:
        assert refund.id is not None  # noqa: S101 - only stored refunds reach here
        change_id = len(self._changes) + 1
        self._changes[change_id] = RefundChange(
            id=change_id,
            refund_id=refund.id,
            payment_id=refund.payment_id,
            previous=previous,
            current=refund.status,
            at=refund.updated_at,
        )


class InMemoryOrders:
    """An order book in a dictionary (the use case checks who may pay an order)."""

    def __init__(self, orders: Iterable[Order] = ()) -> None:
        self._lock = threading.Lock()
        self._orders: dict[str, Order] = {o.id: o for o in orders}

    def put(self, order: Order) -> None:
        """Add or replace an order."""
        with self._lock:
            self._orders[order.id] = order

    def get(self, order_id: str, *, caller: Caller) -> Order:
        """The order, whoever asks. Raises: OrderNotFound."""
        del caller  # nothing to forward: the book is local
        with self._lock:
            order = self._orders.get(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order

    def all(self) -> Mapping[str, Order]:
        """A snapshot of every order."""
        with self._lock:
            return dict(self._orders)


class FrozenClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = start or datetime(2024, 5, 20, 5, 14, 15, tzinfo=UTC)
        if self._now.utcoffset() != timedelta(0):
            raise ValueError("FrozenClock needs an aware UTC time")

    def now(self) -> datetime:
        """The frozen time."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        """Move time forward by ``delta``."""
        with self._lock:
            self._now += delta


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        """``datetime.now(UTC)``."""
        return datetime.now(UTC)
