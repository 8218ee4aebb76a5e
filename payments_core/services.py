"""The use cases: create, get, retry, verify, handle a notification, sweep one attempt, refunds.

The refund use cases live in ``payments_core.refunding``; ``PaymentService`` is their facade.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from attrs import Factory, evolve, field, frozen

from payments_core._references import new_reference
from payments_core.errors import (
    ConcurrencyConflict,
    DuplicateReference,
    DuplicateTradeId,
    IdempotencyKeyReused,
    NotAllowed,
    OrderAlreadyPaid,
    OrderNotFound,
    OrderNotPayable,
    OrdersError,
    PaymentExists,
    PaymentFinal,
    PaymentNotFound,
    PaymentsError,
    ValidationFailed,
    VendorError,
    VendorNotFound,
    VendorNotSupported,
    VendorUnavailable,
)
from payments_core.evidence import apply_report, trade_id_reused
from payments_core.listing import (
    LIMIT_DEFAULT,
    LIMIT_MAX,
    PaymentPage,
    PaymentQuery,
    decode_cursor,
    encode_cursor,
)
from payments_core.money import Money
from payments_core.payment import TERMINAL, Attempt, Payment, PaymentId, PaymentStatus
from payments_core.ports import BuyerReturn, Closeable, Pingable
from payments_core.refund import Refund, RefundId, RefundStatus
from payments_core.refunding import Refunding
from payments_core.values import (
    Caller,
    ChangeSource,
    CheckoutRequest,
    IdempotencyClaim,
    NotificationOutcome,
    RefundReport,
    StatusChange,
    TradeReport,
    TradeStatus,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from payments_core.ports import Clock, Orders, PaymentRepository, VendorGateway

log = logging.getLogger(__name__)

CUSTOMER: Final = "CUSTOMER"
ADMIN: Final = "ADMIN"
SUBJECT_MAX: Final = 256
DESCRIPTION_MAX: Final = 1024
FILTER_MAX: Final = 256  # characters of a text filter of list_payments
_CAS_TRIES: Final = 8


@frozen(kw_only=True)
class PaymentService:
    """The composed core: ports wired together, one method per use case.

    Args:
        repo: where payments, idempotency records and status changes live.
        vendors: the available vendor gateways by name.
        orders: where orders are looked up.
        clock: the time.
        default_vendor: the name of the vendor new payments use.
        checkout_ttl: how long an order string stays payable.
        announce: called after each stored status change, e.g. ``OutboxRelay.wake``;
            with None the service announces nothing and the changes wait in the outbox.
        references: makes a new attempt reference from the current time.
    """

    repo: PaymentRepository
    vendors: Mapping[str, VendorGateway]
    orders: Orders
    clock: Clock
    default_vendor: str
    checkout_ttl: timedelta = timedelta(minutes=15)
    announce: Callable[[], None] | None = None
    references: Callable[[datetime], str] = field(default=new_reference)
    refunding: Refunding = field(
        init=False, default=Factory(lambda self: self._refunding(), takes_self=True)
    )

    def create(
        self,
        caller: Caller,
        *,
        order_id: str,
        subject: str,
        description: str | None = None,
        idempotency_key: str | None = None,
        vendor: str | None = None,
    ) -> Payment:
        """Create the payment of an order the caller owns, with its first attempt.

        ``vendor`` names the configured vendor to pay through (None: ``default_vendor``);
        a given one is part of the request an idempotency key stands for.

        Raises:
            NotAllowed, ValidationFailed, VendorNotSupported, IdempotencyKeyReused, OrderNotFound,
            OrderAlreadyPaid, OrderNotPayable, AmountNotSupported, PaymentExists,
            OrdersError (the orders service answered about another order, or unreadably),
            OrdersUnavailable,
            VendorError, StoreUnavailable.
        """
        self.check_may_create(caller)
        _check_text("subject", subject, SUBJECT_MAX, required=True)
        _check_text("description", description, DESCRIPTION_MAX, required=False)
        gateway = self._vendor_for_create(vendor)
        fingerprint = _fingerprint(order_id, subject, description, vendor)
        if idempotency_key is not None:
            replay = self._replay(caller, idempotency_key, fingerprint)
            if replay is not None:
                return replay
        payment = self._new_payment(caller, order_id, subject, description, gateway)
        stored = self._add(payment, caller, idempotency_key, fingerprint)
        self._announce()
        return stored

    def check_may_create(self, caller: Caller) -> None:
        """The rule of who may create payments (the CUSTOMER role), for an early refusal.

        ``create`` applies it too; an adapter calls it before reading a request body, so
        a caller who may not create learns nothing about the body's validity.

        Raises: NotAllowed.
        """
        _require(caller, CUSTOMER)

    def get(self, caller: Caller, payment_id: PaymentId) -> Payment:
        """The payment, if the caller is its payer or an ADMIN.

        Raises: PaymentNotFound (also for another user's payment), StoreUnavailable.
        """
        return self._own(caller, payment_id, admin_ok=True)

    def list_payments(
        self,
        caller: Caller,
        *,
        status: PaymentStatus | None = None,
        order_id: str | None = None,
        payer: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        limit: int = LIMIT_DEFAULT,
        cursor: str | None = None,
    ) -> PaymentPage:
        """A page of the payments the caller may see, newest (highest id) first.

        An ADMIN sees every payment (``payer`` filters them); anyone else sees only
        their own, whatever ``payer`` says. ``created_from`` is inclusive and
        ``created_to`` exclusive. ``cursor`` is a page's ``next``, given back with the
        same filters (``payments_core.listing``).

        Raises:
            ValidationFailed: ``limit`` is not 1 to 100, a time is naive, a text filter
                is empty, too long or not text, or ``cursor`` is not one handed out for
                these filters.
            StoreUnavailable.
        """
        if type(limit) is not int or not 1 <= limit <= LIMIT_MAX:
            raise ValidationFailed("limit", f"must be a whole number from 1 to {LIMIT_MAX}")
        admin = caller.has(ADMIN)
        _check_filter("order", order_id)
        if admin:  # anyone else's is ignored, so it is not checked either
            _check_filter("payer", payer)
        for name, when in (("createdFrom", created_from), ("createdTo", created_to)):
            if when is not None and when.utcoffset() is None:
                raise ValidationFailed(name, "must name its offset from UTC")
        query = PaymentQuery(
            limit=limit,
            payer=payer if admin else caller.username,
            status=status,
            order_id=order_id,
            created_from=created_from,
            created_to=created_to,
        )
        if cursor is not None:
            query = evolve(query, before=decode_cursor(cursor, query))
        found = self.repo.page(evolve(query, limit=limit + 1))  # one more: is there a next page?
        shown = list(found[:limit])
        last = shown[-1].id if shown and len(found) > limit else None
        return PaymentPage(payments=shown, next=encode_cursor(query, last) if last else None)

    def attempts(self, caller: Caller, payment_id: PaymentId) -> Sequence[Attempt]:
        """The payment's attempts, oldest first: for an ADMIN only.

        Raises: NotAllowed (before the payment is looked up), PaymentNotFound,
        StoreUnavailable.
        """
        self.check_may_see_attempts(caller)
        return self.repo.get(payment_id).attempts

    def check_may_see_attempts(self, caller: Caller) -> None:
        """The rule of who may see attempts (the ADMIN role), for an early refusal.

        ``attempts`` applies it too; an adapter calls it before reading the payment id,
        so that a caller who may not see attempts learns nothing about ids.

        Raises: NotAllowed.
        """
        _require(caller, ADMIN)

    def status_changes(self, caller: Caller, payment_id: PaymentId) -> Sequence[StatusChange]:
        """Every stored change of the payment's status, oldest first (its payer or an ADMIN).

        Raises: PaymentNotFound (also for another user's payment), StoreUnavailable.
        """
        self._own(caller, payment_id, admin_ok=True)
        return self.repo.status_changes(payment_id)

    def retry(self, caller: Caller, payment_id: PaymentId) -> Payment:
        """Close the open attempt and issue a new order string with a new window.

        A payment found paid on the way is confirmed and returned as it is.

        Raises: PaymentNotFound, PaymentFinal, VendorError, StoreUnavailable.
        """
        payment = self._own(caller, payment_id, admin_ok=False)
        _require_open(payment)
        vendor = self.vendor(payment.vendor)
        for attempt in [a for a in payment.attempts if a.is_open()]:
            payment = self._apply(payment, vendor.query(attempt.reference), ChangeSource.RETRY)
            if payment.status in TERMINAL:
                return payment
            vendor.close_attempt(attempt.reference)
        fresh = self._open_attempt(vendor, payment.amount, payment.subject, payment.description)
        return self._update(payment, lambda p: _reissue(p, fresh), ChangeSource.RETRY)

    def verify(self, caller: Caller, payment_id: PaymentId) -> bool:
        """Ask the vendor now and apply what it says; True when the payment is CONFIRMED.

        Raises: PaymentNotFound, VendorUnavailable (not False: the vendor was not
        asked), VendorError, StoreUnavailable.
        """
        payment = self._own(caller, payment_id, admin_ok=True)
        if payment.status in TERMINAL:
            return payment.status is PaymentStatus.CONFIRMED
        vendor = self.vendor(payment.vendor)
        candidates = [a for a in payment.attempts if a.is_open()] or [payment.attempts[-1]]
        for attempt in candidates:
            payment = self._apply(payment, vendor.query(attempt.reference), ChangeSource.VERIFY)
        return payment.status is PaymentStatus.CONFIRMED

    def buyer_returned(self, vendor_name: str, query: Mapping[str, str]) -> Payment:
        """A buyer back from the vendor's checkout: the payment, after asking the vendor now.

        The signed ``query`` came through the buyer's browser, so it only names the
        attempt; what the payment becomes comes from the vendor's own answer, as for
        ``verify``. A vendor that cannot be asked now leaves the payment as it is.

        Raises: VendorNotFound (also for a vendor that sends no buyer back),
        SignatureInvalid, VendorError, PaymentNotFound, StoreUnavailable.
        """
        vendor = self.vendor(vendor_name)
        if not isinstance(vendor, BuyerReturn):
            raise VendorNotFound(vendor_name)
        reference = vendor.parse_return(query)
        payment = self.repo.get_by_reference(reference)
        attempt = payment.attempt(reference)
        if payment.vendor != vendor_name or attempt is None:
            raise PaymentNotFound(reference)
        if payment.status in TERMINAL or not attempt.is_open():
            return payment
        try:
            return self._apply(payment, vendor.query(reference), ChangeSource.VERIFY)
        except VendorUnavailable:
            log.warning("a buyer returned from %s, which could not be asked now", vendor_name)
            return payment

    def handle_notification(
        self, vendor_name: str, body: bytes, headers: Mapping[str, str]
    ) -> NotificationOutcome:
        """Verify a vendor notification and apply it.

        ``headers`` are the transport's headers with lowercase names.

        Returns:
            APPLIED (duplicates and reports with nothing to act on included), RETRY
            when it could not be applied now, REFUSED when it does not verify. The
            vendor's ``reply`` words the outcome.

        Raises:
            VendorNotFound: ``vendor_name`` is not a configured vendor.
        """
        vendor = self.vendor(vendor_name)
        try:
            report = vendor.parse_notification(body, headers)
        except VendorError as exc:
            log.warning("refused a %s notification: %s", vendor_name, exc.code)
            return NotificationOutcome.REFUSED
        if report is None:
            return NotificationOutcome.APPLIED
        try:
            if isinstance(report, RefundReport):
                return self.refunding.notified(report)
            loaded = self.repo.get_by_reference(report.reference)
            self._apply(loaded, report, ChangeSource.NOTIFICATION)
        except PaymentsError as exc:
            log.warning("could not apply a %s notification: %s", vendor_name, exc.code)
            return NotificationOutcome.RETRY
        return NotificationOutcome.APPLIED

    def sweep_attempt(self, payment_id: PaymentId, reference: str) -> PaymentStatus | None:
        """One step of a sweep: ask the vendor about one open attempt; close it when expired and unpaid.

        Returns:
            The payment's new status when it changed, else None.

        Raises: VendorError, StoreUnavailable (the attempt stays open for a later sweep).
        """
        payment = self.repo.get(payment_id)
        attempt = payment.attempt(reference)
        if attempt is None or not attempt.is_open() or payment.status is not PaymentStatus.PENDING:
            return None
        vendor = self.vendor(payment.vendor)
        report = vendor.query(reference)
        if report.status is TradeStatus.UNPAID and self.clock.now() >= attempt.expires_at:
            vendor.close_attempt(reference)
            report = evolve(report, status=TradeStatus.CLOSED)
        # Report only a change this call stored: a concurrent sweeper may have made it.
        after, changed = self._store(
            payment, lambda p: apply_report(p, report, at=self.clock.now()), ChangeSource.SWEEP
        )
        return after.status if changed else None

    def request_refund(
        self,
        caller: Caller,
        payment_id: PaymentId,
        *,
        amount: Decimal | None = None,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Refund:
        """Refund ``amount`` (default: all still refundable) of a CONFIRMED payment; ADMIN only.

        The refund returns money from the payment's paid attempt. It is stored PENDING
        first, then sent to the vendor, and returned as the vendor's answer left it:
        SUCCEEDED, FAILED (the vendor refused), or PENDING (the vendor has it and has not
        finished, or could not be reached: the sweep sends it again under the same
        reference). An ``idempotency_key`` used again by the same caller with the same
        payment, amount and reason returns the first refund as it is now.

        Raises:
            NotAllowed: the caller is not an ADMIN.
            ValidationFailed: ``amount`` not above 0 or with more than two decimals
                (field ``amount``), ``reason`` longer than 256 characters.
            IdempotencyKeyReused: the key came with another payment, amount or reason.
            PaymentNotFound, PaymentNotRefundable (not CONFIRMED, or the vendor plugin
                cannot refund: then a FAILED refund records it),
            RefundExceedsPayment: more than is still refundable, or nothing is left.
            StoreUnavailable: the refund could not be stored (nothing was sent).
        """
        _require(caller, ADMIN)
        return self.refunding.request(
            caller.username,
            payment_id,
            amount=amount,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    def refunds(self, caller: Caller, payment_id: PaymentId) -> Sequence[Refund]:
        """The payment's refunds, oldest first, for its payer or an ADMIN.

        Raises: PaymentNotFound (also for another user's payment), StoreUnavailable.
        """
        self._own(caller, payment_id, admin_ok=True)
        return self.refunding.of_payment(payment_id)

    def get_refund(self, caller: Caller, payment_id: PaymentId, refund_id: RefundId) -> Refund:
        """One refund of the payment, for its payer or an ADMIN.

        Raises: PaymentNotFound (also for another user's payment), RefundNotFound (also
        for a refund of another payment), StoreUnavailable.
        """
        self._own(caller, payment_id, admin_ok=True)
        return self.refunding.one(payment_id, refund_id)

    def sweep_refund(self, refund_id: RefundId) -> RefundStatus | None:
        """One step of a sweep for one PENDING refund: send it again if the vendor never
        acknowledged it (or has no record of it), else ask the vendor about it.

        Returns:
            The refund's new status when this call changed it, else None.

        Raises: RefundNotFound, VendorError, StoreUnavailable (it stays PENDING).
        """
        return self.refunding.sweep(self.repo.get_refund(refund_id)).status

    def vendor(self, name: str) -> VendorGateway:
        """The configured vendor called ``name``. Raises: VendorNotFound."""
        try:
            return self.vendors[name]
        except KeyError:
            raise VendorNotFound(name) from None

    def health(self) -> None:
        """Return when the repository answers; one that cannot be pinged is taken as up.

        Raises: StoreUnavailable.
        """
        if isinstance(self.repo, Pingable):
            self.repo.ping()

    def close(self) -> None:
        """Release what the vendors, the orders adapter and the repository hold, in that order.

        Every part that can be closed is closed, even when one fails; a failure is
        raised afterwards.
        """
        with contextlib.ExitStack() as closing:  # runs every callback, last pushed first
            for part in reversed([*self.vendors.values(), self.orders, self.repo]):
                if isinstance(part, Closeable):
                    closing.callback(part.close)

    def _announce(self) -> None:
        if self.announce is not None:
            self.announce()

    def _refunding(self) -> Refunding:
        return Refunding(
            repo=self.repo,
            vendor=self.vendor,
            clock=self.clock,
            references=self.references,
            announce=self._announce,
        )

    def _replay(self, caller: Caller, key: str, fingerprint: str) -> Payment | None:
        record = self.repo.find_idempotent(caller.username, key)
        if record is None:
            return None
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        return self.repo.get(record.payment_id)

    def _add(self, payment: Payment, caller: Caller, key: str | None, fingerprint: str) -> Payment:
        """Store a new payment; the repository's unique indexes settle races.

        A create refused because a concurrent one with the same key stored first (its
        order's payment exists, or its key was taken) answers what that one did: the
        repository stores the payment and its key at once, so the key is found now.
        """
        claim = (
            IdempotencyClaim(payer=caller.username, key=key, fingerprint=fingerprint)
            if key is not None
            else None
        )
        try:
            return self.repo.add(payment, idempotency=claim)
        except (PaymentExists, DuplicateReference) as refused:
            replay = self._replay(caller, key, fingerprint) if key is not None else None
            if replay is not None:
                return replay
            if isinstance(refused, PaymentExists):
                _check_no_payment(self.repo.find_for_order(payment.order_id), payment.order_id)
            raise

    def _vendor_for_create(self, name: str | None) -> VendorGateway:
        """The vendor a new payment goes through. Raises: VendorNotSupported."""
        if name is None:
            return self.vendor(self.default_vendor)
        gateway = self.vendors.get(name)
        if gateway is None:
            raise VendorNotSupported(name)
        return gateway

    def _new_payment(
        self,
        caller: Caller,
        order_id: str,
        subject: str,
        description: str | None,
        vendor: VendorGateway,
    ) -> Payment:
        order = self.orders.get(order_id, caller=caller)
        if order.id != order_id:  # never pay one order with the answer about another
            raise OrdersError("it answered about another order than the one asked for")
        if order.buyer != caller.username:
            raise OrderNotFound(order_id)
        if order.status == "PAID":
            raise OrderAlreadyPaid(order_id)
        if not order.payable:
            raise OrderNotPayable(order_id, order.status)
        amount = Money.parse(order.total, order.currency)
        attempt = self._open_attempt(vendor, amount, subject, description)
        return Payment.start(
            order_id=order_id,
            payer=caller.username,
            subject=subject,
            description=description,
            amount=amount,
            vendor=vendor.name,
            attempt=attempt,
        )

    def _open_attempt(
        self, vendor: VendorGateway, amount: Money, subject: str, description: str | None
    ) -> Attempt:
        now = self.clock.now()
        request = CheckoutRequest(
            reference=self.references(now),
            amount=amount,
            subject=subject,
            description=description,
            expires_at=now + self.checkout_ttl,
        )
        checkout = vendor.open_checkout(request)
        return Attempt(
            reference=request.reference,
            order_string=checkout.order_string,
            opened_at=now,
            expires_at=checkout.expires_at,
        )

    def _own(self, caller: Caller, payment_id: PaymentId, *, admin_ok: bool) -> Payment:
        payment = self.repo.get(payment_id)
        if payment.payer != caller.username and not (admin_ok and caller.has(ADMIN)):
            raise PaymentNotFound(payment_id)
        return payment

    def _apply(self, loaded: Payment, report: TradeReport, source: ChangeSource) -> Payment:
        return self._update(loaded, lambda p: apply_report(p, report, at=self.clock.now()), source)

    def _update(
        self, loaded: Payment, decide: Callable[[Payment], Payment], source: ChangeSource
    ) -> Payment:
        """Decide, compare-and-set; on a conflict reload and decide again, never overwrite."""
        return self._store(loaded, decide, source)[0]

    def _store(
        self, loaded: Payment, decide: Callable[[Payment], Payment], source: ChangeSource
    ) -> tuple[Payment, bool]:
        """Like ``_update``, also telling whether this call stored a change of status.

        ``loaded`` is the payment as last read: deciding on it first saves a read, and
        the compare-and-set refuses it if it has gone stale.
        """
        if loaded.id is None:
            raise PaymentNotFound("(unsaved)")
        current = loaded
        for tries in range(_CAS_TRIES):
            if tries:
                current = self.repo.get(loaded.id)
            changed = decide(current)
            if changed is current:
                return current, False
            owed = self.refunding.owed(current, changed)  # charges to give back, stored at once
            try:
                saved = self.repo.save(changed, previous=current, refunds=owed, source=source)
            except ConcurrencyConflict:
                continue
            except DuplicateTradeId as exc:  # the trade settled another payment: refuse
                raise trade_id_reused(exc.vendor) from exc
            moved = saved.status is not current.status
            if moved or owed:
                self._announce()
            self.refunding.give_back(saved, owed)
            return saved, moved
        raise ConcurrencyConflict(loaded.id, current.version)


def _reissue(payment: Payment, fresh: Attempt) -> Payment:
    """Every open attempt closed, ``fresh`` added, and the payment PENDING again."""
    _require_open(payment)
    at = fresh.opened_at
    for attempt in payment.attempts:
        if attempt.is_open():
            payment = payment.close_attempt(attempt.reference, at=at)
    return payment.with_attempt(fresh, at=at).transition(PaymentStatus.PENDING, at=at)


def _require(caller: Caller, role: str) -> None:
    if not caller.has(role):
        raise NotAllowed(role)


def _require_open(payment: Payment) -> None:
    if payment.status in TERMINAL:
        raise PaymentFinal(payment.id, payment.status)


def _check_no_payment(existing: Payment | None, order_id: str) -> None:
    """Raise OrderAlreadyPaid when the payment holding the order is CONFIRMED."""
    if existing is not None and existing.status is PaymentStatus.CONFIRMED:
        raise OrderAlreadyPaid(order_id)


def _check_text(name: str, value: str | None, limit: int, *, required: bool) -> None:
    if value is None or not value.strip():
        if required:
            raise ValidationFailed(name, "is required")
        return
    if len(value) > limit:
        raise ValidationFailed(name, f"is longer than {limit} characters")


def _check_filter(name: str, value: str | None) -> None:
    """A text filter is matched exactly: refuse what no stored text could be (or store)."""
    if value is None:
        return
    if not value or len(value) > FILTER_MAX or "\x00" in value or not value.isprintable():
        raise ValidationFailed(name, f"must be 1 to {FILTER_MAX} printable characters")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValidationFailed(name, "must be text without lone surrogates") from None


def _fingerprint(order_id: str, subject: str, description: str | None, vendor: str | None) -> str:
    # Without a vendor named, the fingerprint is the one stored before vendors could be.
    fields = [order_id, subject, description] + ([vendor] if vendor is not None else [])
    canonical = json.dumps(fields, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
