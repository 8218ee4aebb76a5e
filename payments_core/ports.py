"""The ports: what the core needs from the world, as structural Protocols.

Adapters do not inherit from these classes; mypy checks them where they are wired.
Every method lists in ``Raises:`` the errors that are part of its contract.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from payments_core.listing import PaymentQuery
from payments_core.money import Money
from payments_core.payment import Payment, PaymentId
from payments_core.refund import Refund, RefundId, RefundStatus
from payments_core.values import (
    Caller,
    Change,
    ChangeSource,
    Checkout,
    CheckoutRequest,
    Delivery,
    DueAttempt,
    IdempotencyClaim,
    IdempotencyRecord,
    NotificationOutcome,
    Order,
    RefundIdempotencyRecord,
    RefundReport,
    Reply,
    StatusChange,
    Subscriber,
    TradeReport,
)


class Clock(Protocol):
    """Tells the time."""

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        ...


class VendorGateway(Protocol):
    """One payment vendor: a built-in one, a fake, or a third-party plugin.

    Notifications go both ways in the vendor's own format. ``parse_notification`` turns
    what the vendor sent into evidence; the core applies it and decides an outcome;
    ``reply`` words that outcome as the vendor expects. The adapter serving
    notifications sends the reply with the transport status it maps the outcome to
    (over HTTP: 200 for APPLIED and RETRY, 400 for REFUSED), unless the reply names
    its own ``status``: a vendor that wants an empty 204 for APPLIED and a JSON error
    with a 5xx for RETRY says so in its replies, and the core stays as it is.
    """

    @property
    def name(self) -> str:
        """The vendor's name in notify paths and settings: a lowercase identifier."""
        ...

    def open_checkout(self, request: CheckoutRequest) -> Checkout:
        """Issue the order string for one attempt; it may make no network call.

        Raises:
            VendorError: the request cannot be expressed for this vendor.
        """
        ...

    def query(self, reference: str) -> TradeReport:
        """Ask the vendor what it knows of the attempt ``reference``.

        A trade the vendor has never seen is UNPAID, not an error.

        Raises:
            VendorUnavailable: the vendor could not be reached in time.
            VendorError: the answer was a business error or could not be verified.
        """
        ...

    def close_attempt(self, reference: str) -> None:
        """Make the attempt unpayable at the vendor; closing an unknown trade succeeds.

        Some vendors create a trade only when the buyer opens the checkout (a page-pay
        checkout, say): closing it before then cannot stop a payment until its expiry.
        The core copes: a late payment of a closed attempt confirms a TIMEOUT payment,
        or is flagged as a duplicate charge to refund.

        Raises:
            VendorUnavailable: the vendor could not be reached in time.
            VendorError: the vendor refused, e.g. because the trade was paid meanwhile.
        """
        ...

    def refund(
        self, reference: str, refund_reference: str, amount: Money, reason: str | None
    ) -> RefundReport:
        """Ask the vendor to return ``amount`` of the paid attempt ``reference``.

        ``refund_reference`` is the refund's own forever-unique reference, sent every
        time this refund is sent: the vendor pays one reference out once, so sending
        again after a lost answer is safe. A refusal is a FAILED report with the
        vendor's code as ``failure``, not an error.

        Raises:
            RefundNotSupported: this plugin cannot refund (say why in ``reason``).
            VendorUnavailable: the vendor could not be reached in time, or answered
                that it could not decide now: the refund may be sent again.
            VendorError: the answer could not be verified.
        """
        ...

    def query_refund(self, reference: str, refund_reference: str) -> RefundReport:
        """Ask the vendor what it knows of one refund of the attempt ``reference``.

        A refund the vendor has no record of is NOT_FOUND, not an error.

        Raises: RefundNotSupported, VendorUnavailable, VendorError (as for ``refund``).
        """
        ...

    def parse_notification(
        self, body: bytes, headers: Mapping[str, str]
    ) -> TradeReport | RefundReport | None:
        """Parse and verify a notification exactly as the vendor sent it.

        ``headers`` are the transport's headers with lowercase names (``content-type``
        among them); a vendor that signs its notifications in headers finds them here.

        Returns:
            The verified evidence about an attempt or about a refund, or None for a
            genuine notification that reports nothing to act on.

        Raises:
            SignatureInvalid: forged, tampered, stale, or not addressed to this application.
            VendorError: malformed beyond reading.
        """
        ...

    def reply(self, outcome: NotificationOutcome) -> Reply:
        """The answer the vendor expects for ``outcome``; APPLIED's differs from RETRY's.

        Raises nothing: every outcome has a reply.
        """
        ...


@runtime_checkable
class BuyerReturn(Protocol):
    """A vendor whose checkout sends the buyer's browser back with signed parameters.

    What comes back through a browser is no evidence of payment: the core only learns
    which attempt the buyer returns from, then asks the vendor itself.
    """

    def parse_return(self, query: Mapping[str, str]) -> str:
        """The reference of the attempt the return names, once its signature is checked.

        Raises:
            SignatureInvalid: unsigned, forged, or for another application.
            VendorError: malformed.
        """
        ...


@runtime_checkable
class Closeable(Protocol):
    """An adapter holding something to release: a connection pool, a session."""

    def close(self) -> None:
        """Release it; calling again does nothing more."""
        ...


@runtime_checkable
class Pingable(Protocol):
    """An adapter that can tell cheaply whether what it stands for answers."""

    def ping(self) -> None:
        """Return when it answers. Raises: StoreUnavailable (for a repository)."""
        ...


class Payments(Protocol):
    """The payments themselves, with compare-and-set saves."""

    def add(
        self,
        payment: Payment,
        *,
        idempotency: IdempotencyClaim | None = None,
        source: ChangeSource = ChangeSource.CREATE,
    ) -> Payment:
        """Store a new payment with version 1 and a creation StatusChange from ``source``, atomically.

        ``idempotency``, when given, is recorded with the new payment's id. The record
        is stored in the same transaction as the payment, and a refusal caused by a
        concurrent add comes only once that add is stored: a create that loses the race
        to a twin with the same key finds the twin's record right after the refusal.

        Returns:
            The payment with its id and version assigned.

        Raises:
            PaymentExists: the order already has a PENDING, TIMEOUT or CONFIRMED payment.
            DuplicateReference: an attempt reference is already stored, or the
                idempotency key of this payer was taken meanwhile.
            DuplicateTradeId: an attempt carries a vendor trade id that another stored
                attempt of that vendor (or another attempt of this payment) carries.
            StoreUnavailable: nothing was written.
        """
        ...

    def get(self, payment_id: PaymentId) -> Payment:
        """Raises: PaymentNotFound, StoreUnavailable."""
        ...

    def get_by_reference(self, reference: str) -> Payment:
        """The payment owning the attempt ``reference``.

        Raises: PaymentNotFound, StoreUnavailable.
        """
        ...

    def find_for_order(self, order_id: str) -> Payment | None:
        """The order's PENDING, TIMEOUT or CONFIRMED payment, if any. Raises: StoreUnavailable."""
        ...

    def save(
        self,
        payment: Payment,
        *,
        previous: Payment,
        refunds: Sequence[Refund] = (),
        source: ChangeSource | None = None,
    ) -> Payment:
        """Replace ``previous`` by ``payment`` if the stored version is still ``previous.version``.

        When ``payment.status`` differs from ``previous.status`` a StatusChange is
        recorded in the same transaction, with ``source`` (None: not known).
        ``refunds`` (new, without ids) are stored in that transaction too, each with its
        creation RefundChange, so that a charge to give back is never recorded without
        its refund.

        Returns:
            The payment with version ``previous.version + 1``.

        Raises:
            ConcurrencyConflict: the stored version is not ``previous.version``.
            DuplicateReference: a new attempt or refund reference is already stored.
            DuplicateTradeId: an attempt would carry a vendor trade id that another
                attempt of the same vendor carries (one trade settles one attempt,
                enforced by the store so that racing processes cannot both record it).
            PaymentNotFound, StoreUnavailable.
        """
        ...

    def page(self, query: PaymentQuery) -> Sequence[Payment]:
        """Up to ``query.limit`` payments matching ``query``, highest id first, each whole.

        Its cost does not grow with the payments stored before the page: no row is
        counted or skipped, and the attempts of the page are read with it, not one
        payment at a time. Raises: StoreUnavailable.
        """
        ...

    def status_changes(self, payment_id: PaymentId) -> Sequence[StatusChange]:
        """Every stored StatusChange of the payment, delivered or not, oldest first.

        An unknown payment has none. Raises: StoreUnavailable.
        """
        ...


class Refunds(Protocol):
    """The refunds, with compare-and-set saves like payments'."""

    def add_refund(self, refund: Refund, *, idempotency: IdempotencyClaim | None = None) -> Refund:
        """Store a new refund with version 1 and its creation RefundChange, atomically.

        ``idempotency``, when given, is recorded with the new refund's id in the same
        transaction (its ``payer`` is the requester).

        Returns:
            The refund with its id and version assigned.

        Raises:
            DuplicateReference: its reference is already stored (references are unique
                forever), or the requester's idempotency key was taken meanwhile.
            PaymentNotFound: its payment is not stored.
            StoreUnavailable: nothing was written.
        """
        ...

    def get_refund(self, refund_id: RefundId) -> Refund:
        """Raises: RefundNotFound, StoreUnavailable."""
        ...

    def refunds_for(self, payment_id: PaymentId) -> Sequence[Refund]:
        """The payment's refunds, oldest first (by id). Raises: StoreUnavailable."""
        ...

    def refunds_in(
        self, status: RefundStatus, *, limit: int, after: RefundId = 0
    ) -> Sequence[Refund]:
        """Up to ``limit`` refunds in ``status`` with an id above ``after``, oldest first.

        For operators: the PENDING ones still to go back, the FAILED ones to look at.
        Raises: StoreUnavailable.
        """
        ...

    def save_refund(self, refund: Refund, *, previous: Refund) -> Refund:
        """Replace ``previous`` by ``refund`` if the stored version is still ``previous.version``.

        When the status differs from ``previous.status`` a RefundChange is recorded in
        the same transaction.

        Returns:
            The refund with version ``previous.version + 1``.

        Raises: ConcurrencyConflict, RefundNotFound, StoreUnavailable.
        """
        ...

    def find_idempotent_refund(self, requester: str, key: str) -> RefundIdempotencyRecord | None:
        """The refund first requested with ``key`` by ``requester``. Raises: StoreUnavailable."""
        ...


class Sweepable(Protocol):
    """Open attempts, claimed in batches so that several sweepers never share one."""

    def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> Sequence[DueAttempt]:
        """Claim up to ``limit`` OPEN attempts of PENDING payments not claimed at ``now``.

        Claimed attempts are skipped by every claim until ``now + lease``; the
        oldest expiry comes first. Raises: StoreUnavailable.
        """
        ...

    def claim_due_refunds(self, now: datetime, *, limit: int, lease: timedelta) -> Sequence[Refund]:
        """Claim up to ``limit`` PENDING refunds not claimed at ``now``, oldest first.

        Claimed refunds are skipped by every claim until ``now + lease``, so several
        sweepers never send or ask about one refund at once. Raises: StoreUnavailable.
        """
        ...


class IdempotencyStore(Protocol):
    """The first answer to each idempotency key."""

    def find_idempotent(self, payer: str, key: str) -> IdempotencyRecord | None:
        """Raises: StoreUnavailable."""
        ...


class Outbox(Protocol):
    """Changes of status (payments' and refunds') waiting to be delivered to the hooks.

    A subscriber is the plugin name of a status hook that some process of the deployment
    registered. A change stays pending until its ``delivered_to`` holds every registered
    subscriber that is not retired, so a process lacking a hook never closes a change
    out before the processes that have the hook hear it.
    """

    def pending_changes(self, *, limit: int) -> Sequence[Change]:
        """Undelivered changes, oldest first, claimed or not. Raises: StoreUnavailable."""
        ...

    def claim_changes(
        self, now: datetime, *, limit: int, lease: timedelta, hooks: Collection[str] = ()
    ) -> Sequence[Change]:
        """Claim up to ``limit`` undelivered changes not claimed at ``now``, oldest first.

        Only changes the caller can move on are claimed: those whose ``delivered_to``
        lacks one of ``hooks`` (the plugin names of the caller's status hooks) and,
        while no subscriber is registered, every one. A process is thus never handed
        again and again the changes that wait only for other processes' hooks.

        Claimed changes are skipped by every claim until ``now + lease``, so several
        processes never deliver the same change at once. Raises: StoreUnavailable.
        """
        ...

    def mark_delivered(self, deliveries: Sequence[Delivery]) -> None:
        """Record, in one transaction, who has seen each change.

        ``to`` is added to the change's ``delivered_to``. With ``done``, the change is
        retired if its ``delivered_to`` now holds every registered, non-retired
        subscriber; otherwise its claim is released so the next delivery retries it.
        Unknown ids are ignored. Raises: StoreUnavailable.
        """
        ...

    def register_subscribers(self, names: Collection[str], now: datetime) -> None:
        """Record ``names`` as subscribers registered at ``now``; idempotent.

        A retired subscriber registered again is active again: changes retired
        meanwhile are not delivered to it.

        Raises:
            ValueError: a name ``values.subscriber_name_problem`` refuses; none is stored.
            StoreUnavailable: nothing was stored.
        """
        ...

    def retire_subscriber(self, name: str, now: datetime) -> int:
        """Stop waiting for ``name``; retiring it again does nothing.

        In the same transaction, every pending change whose ``delivered_to`` holds all
        the remaining subscribers is retired.

        Returns:
            How many changes were retired.

        Raises:
            SubscriberNotFound: no subscriber ``name`` was ever registered.
            StoreUnavailable: nothing was changed.
        """
        ...

    def subscribers(self) -> Sequence[Subscriber]:
        """Every subscriber, active or retired, by name. Raises: StoreUnavailable."""
        ...


class PaymentRepository(Payments, Refunds, Sweepable, IdempotencyStore, Outbox, Protocol):
    """Everything the use cases store, as one adapter provides it."""


class Orders(Protocol):
    """Where the orders live (``PAYMENTS_ORDERS_URL`` in the README)."""

    def get(self, order_id: str, *, caller: Caller) -> Order:
        """The order ``order_id``, whoever its buyer: the use case checks that the caller
        owns it. Its ``id`` must be exactly ``order_id``.

        ``caller`` carries the credentials a remote orders service may ask for.

        Raises: OrderNotFound, OrdersUnavailable (the orders service cannot be asked now),
        OrdersError (it answered something unusable).
        """
        ...
