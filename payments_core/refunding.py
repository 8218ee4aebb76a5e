"""Refund use cases: request, list, the automatic refund of charges to give back, sweep one.

``PaymentService`` is the facade; it hands its refund calls to the ``Refunding`` it
holds. Every refund is stored PENDING before the vendor is called (intent first), and a
vendor failure leaves it PENDING for the sweep, which sends it again under the same
reference (the vendor pays one reference out once) or asks about it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from attrs import frozen

from payments_core.errors import (
    AmountNotSupported,
    ConcurrencyConflict,
    DuplicateReference,
    IdempotencyKeyReused,
    PaymentNotFound,
    PaymentNotRefundable,
    PaymentsError,
    RefundExceedsPayment,
    RefundNotFound,
    RefundNotSupported,
    ValidationFailed,
    VendorError,
)
from payments_core.money import Money
from payments_core.payment import AttemptState, Payment, PaymentId, PaymentStatus
from payments_core.refund import Refund, RefundId, RefundKind, RefundStatus, refundable
from payments_core.values import IdempotencyClaim, NotificationOutcome, RefundReport, RefundState

if TYPE_CHECKING:
    from payments_core.payment import Attempt
    from payments_core.ports import Clock, PaymentRepository, VendorGateway

log = logging.getLogger(__name__)

REASON_MAX: Final = 256
NOT_SUPPORTED: Final = "refund_not_supported"
"""The start of a FAILED refund's ``failure`` when its vendor plugin cannot refund."""
RACED: Final = "exceeds_refundable"
"""The ``failure`` of a refund stored by a request that lost a race for the same money."""
_CAS_TRIES: Final = 8
_GIVE_BACK: Final = {
    AttemptState.DUPLICATE: RefundKind.DUPLICATE,
    AttemptState.REJECTED: RefundKind.REJECTED,
}


@frozen(kw_only=True)
class RefundStep:
    """What one sweep step did to one refund: whether it was sent, and its new status."""

    sent: bool
    status: RefundStatus | None  # the status this step stored, if it changed one


@frozen(kw_only=True)
class Refunding:
    """The refund use cases over the service's repository, vendors, clock and references.

    Args:
        repo: where payments and refunds live.
        vendor: the configured vendor gateway of a name (raises VendorNotFound).
        clock: the time.
        references: makes a new, forever-unique reference from the current time.
        announce: called after each stored change of a refund's status.
    """

    repo: PaymentRepository
    vendor: Callable[[str], VendorGateway]
    clock: Clock
    references: Callable[[datetime], str]
    announce: Callable[[], None]

    # --- requested refunds --------------------------------------------------

    def request(
        self,
        requester: str,
        payment_id: PaymentId,
        *,
        amount: Decimal | None,
        reason: str | None,
        idempotency_key: str | None,
    ) -> Refund:
        """See ``PaymentService.request_refund`` (the caller's role is checked there)."""
        reason = _checked_reason(reason)
        asked = _checked_amount(amount)
        fingerprint = _fingerprint(payment_id, asked, reason)
        claim = None
        if idempotency_key is not None:
            claim = IdempotencyClaim(payer=requester, key=idempotency_key, fingerprint=fingerprint)
            replay = self._replay(claim)
            if replay is not None:
                return replay
        payment = self.repo.get(payment_id)
        attempt = _paid_attempt(payment)
        paid = _paid(payment, attempt)
        left = refundable(paid, self.repo.refunds_for(payment_id), attempt.reference)
        money = left if asked is None else _money(asked, paid.currency)
        if money.minor == 0 or money.minor > left.minor:
            # A concurrent request with the same key may have taken the money: its answer.
            replay = self._replay(claim) if claim is not None else None
            if replay is not None:
                return replay
            raise RefundExceedsPayment("any amount" if asked is None else str(money), str(left))
        intent = Refund.start(
            payment_id=payment_id,
            attempt=attempt.reference,
            reference=self.references(self.clock.now()),
            amount=money,
            reason=reason,
            kind=RefundKind.REQUESTED,
            at=self.clock.now(),
        )
        try:
            stored = self.repo.add_refund(intent, idempotency=claim)
        except DuplicateReference:
            replay = self._replay(claim) if claim is not None else None
            if replay is None:
                raise
            return replay
        self.announce()
        self._check_not_raced(stored, paid)
        return _answer(self.send(stored))

    def _replay(self, claim: IdempotencyClaim) -> Refund | None:
        record = self.repo.find_idempotent_refund(claim.payer, claim.key)
        if record is None:
            return None
        if record.fingerprint != claim.fingerprint:
            raise IdempotencyKeyReused()
        return _answer(self.repo.get_refund(record.refund_id))

    def _check_not_raced(self, stored: Refund, paid: Money) -> None:
        """Refuse a refund that a concurrent request made too much; the older one stands.

        The refundable amount was read before this refund was stored; two requests can
        both have read it. Of the refunds of the attempt stored up to this one, those
        that count must fit in what was paid, or this one is FAILED before it is sent.
        """
        assert stored.id is not None  # noqa: S101 - stored refunds have ids
        earlier = [r for r in self.repo.refunds_for(stored.payment_id) if (r.id or 0) < stored.id]
        left = refundable(paid, earlier, stored.attempt)
        if stored.amount.minor <= left.minor:
            return
        self._update(stored, lambda r: r.fail(RACED, at=self.clock.now()) if _open(r) else r)
        raise RefundExceedsPayment(str(stored.amount), str(left))

    # --- reading ------------------------------------------------------------

    def of_payment(self, payment_id: PaymentId) -> Sequence[Refund]:
        """The payment's refunds, oldest first."""
        return self.repo.refunds_for(payment_id)

    def one(self, payment_id: PaymentId, refund_id: RefundId) -> Refund:
        """The refund ``refund_id`` of the payment. Raises: RefundNotFound for another's."""
        refund = self.repo.get_refund(refund_id)
        if refund.payment_id != payment_id:
            raise RefundNotFound(refund_id)
        return refund

    # --- charges to give back -----------------------------------------------

    def owed(self, before: Payment, after: Payment) -> list[Refund]:
        """The refunds of the attempts ``after`` newly records as DUPLICATE or REJECTED.

        Each returns in full what the vendor reported paid for its attempt, and is
        stored with the payment in one transaction (``Payments.save(refunds=...)``).
        """
        now = self.clock.now()
        owed = []
        for attempt in after.attempts:
            kind = _GIVE_BACK.get(attempt.state)
            earlier = before.attempt(attempt.reference)
            if kind is None or (earlier is not None and earlier.state is attempt.state):
                continue
            assert after.id is not None  # noqa: S101 - only stored payments are saved
            owed.append(
                Refund.start(
                    payment_id=after.id,
                    attempt=attempt.reference,
                    reference=self.references(now),
                    amount=_paid(after, attempt),
                    reason=f"{kind.value.lower()} charge",
                    kind=kind,
                    at=now,
                )
            )
        return owed

    def give_back(self, payment: Payment, owed: Sequence[Refund]) -> None:
        """Say that ``owed``, just stored with ``payment``, are being refunded, and send them.

        Best effort: a refund the vendor could not take now stays PENDING for the sweep.
        """
        if not owed or payment.id is None:
            return
        references = {r.reference for r in owed}
        for refund in self.repo.refunds_for(payment.id):
            if refund.reference not in references:
                continue
            log.warning(
                "%s charge: payment %s attempt %s paid %s %s; refund %s (reference %s) "
                "recorded to give it back",
                refund.kind.value.lower(),
                payment.id,
                refund.attempt,
                refund.amount,
                refund.amount.currency,
                refund.id,
                refund.reference,
            )
            self.send(refund)

    # --- the vendor's word --------------------------------------------------

    def send(self, refund: Refund, *, quiet: bool = True) -> Refund:
        """Send ``refund`` to its vendor and store what it answered; the refund as it is now.

        A vendor plugin that cannot refund makes it FAILED with
        ``refund_not_supported: <why>``. When the vendor cannot be reached, its answer
        cannot be verified or the answer cannot be stored, the refund stays PENDING for
        the sweep: logged when ``quiet``, else raised.

        Raises (not ``quiet``): VendorError, StoreUnavailable, ConcurrencyConflict.
        """
        try:
            return self._send(refund)
        except PaymentsError as exc:
            if not quiet:
                raise
            log.warning("refund %s not settled now (stays PENDING): %s", refund.id, exc.code)
            return refund

    def _send(self, refund: Refund) -> Refund:
        vendor = self.vendor(self.repo.get(refund.payment_id).vendor)
        try:
            report = vendor.refund(refund.attempt, refund.reference, refund.amount, refund.reason)
        except RefundNotSupported as exc:
            failure = f"{NOT_SUPPORTED}: {exc.reason}"
            return self._update(refund, lambda r: r.fail(failure, at=self.clock.now()))
        return self.apply(refund, report)

    def apply(self, loaded: Refund, report: RefundReport) -> Refund:
        """Store what the vendor ``report``ed of the refund ``loaded``; the refund as it is now.

        NOT_FOUND changes nothing: after a refund call the refund stays unacknowledged
        (sent again by the sweep). A report about another refund is refused.

        Raises: VendorError (the report is not about this refund), ConcurrencyConflict,
        StoreUnavailable.
        """
        _check_about(loaded, report)
        return self._update(loaded, lambda r: _decide(r, report, at=self.clock.now()))

    def sweep(self, refund: Refund) -> RefundStep:
        """One sweep step: send an unacknowledged PENDING refund again, ask about the others.

        Raises: VendorError (including VendorUnavailable), StoreUnavailable: the refund
        stays PENDING for a later sweep.
        """
        current = self.repo.get_refund(refund.id) if refund.id is not None else refund
        if current.status is not RefundStatus.PENDING:
            return RefundStep(sent=False, status=None)
        if current.acknowledged:
            vendor = self.vendor(self.repo.get(current.payment_id).vendor)
            report = vendor.query_refund(current.attempt, current.reference)
            if report.state is not RefundState.NOT_FOUND:
                return RefundStep(sent=False, status=_moved(current, self.apply(current, report)))
        return RefundStep(sent=True, status=_moved(current, self.send(current, quiet=False)))

    def notified(self, report: RefundReport) -> NotificationOutcome:
        """Apply a verified refund notification; it never changes a payment.

        A notification about a refund we do not have is genuine evidence with nothing to
        act on: APPLIED, with a warning. Raises: PaymentsError (the caller answers RETRY).
        """
        refund = self._find(report)
        if refund is None:
            log.warning(
                "a %s notification about refund %s of attempt %s matches no stored refund",
                report.vendor,
                report.refund_reference,
                report.reference,
            )
            return NotificationOutcome.APPLIED
        self.apply(refund, report)
        return NotificationOutcome.APPLIED

    def _find(self, report: RefundReport) -> Refund | None:
        try:
            payment = self.repo.get_by_reference(report.reference)
        except PaymentNotFound:
            return None
        assert payment.id is not None  # noqa: S101 - stored payments have ids
        return next(
            (
                r
                for r in self.repo.refunds_for(payment.id)
                if r.reference == report.refund_reference and r.attempt == report.reference
            ),
            None,
        )

    def _update(self, loaded: Refund, decide: Callable[[Refund], Refund]) -> Refund:
        """Decide, compare-and-set; on a conflict reload and decide again, never overwrite."""
        if loaded.id is None:
            raise RefundNotFound("(unsaved)")
        current = loaded
        for tries in range(_CAS_TRIES):
            if tries:
                current = self.repo.get_refund(loaded.id)
            changed = decide(current)
            if changed == current:
                return current
            try:
                saved = self.repo.save_refund(changed, previous=current)
            except ConcurrencyConflict:
                continue
            if saved.status is not current.status:
                self.announce()
            return saved
        raise ConcurrencyConflict(loaded.id, current.version)


def _decide(refund: Refund, report: RefundReport, *, at: datetime) -> Refund:
    """The refund after the vendor's ``report``; a settled refund stays as it is."""
    if refund.status is not RefundStatus.PENDING:
        if report.state not in (RefundState.NOT_FOUND, RefundState[refund.status.value]):
            log.warning(
                "%s reports refund %s %s, stored %s: kept as stored",
                report.vendor,
                refund.id,
                report.state.value,
                refund.status.value,
            )
        return refund
    match report.state:
        case RefundState.SUCCEEDED:
            return refund.succeed(at=at)
        case RefundState.FAILED:
            return refund.fail(report.failure or "refused", at=at)
        case RefundState.PENDING:
            return refund.acknowledge(at=at)
        case RefundState.NOT_FOUND:
            return refund


def _check_about(refund: Refund, report: RefundReport) -> None:
    """Raise VendorError unless ``report`` is about ``refund``, for its amount when it says."""
    if report.refund_reference != refund.reference or report.reference != refund.attempt:
        raise VendorError(report.vendor, "refund_mismatch", "the answer is about another refund")
    if report.amount is not None and report.amount != refund.amount:
        raise VendorError(
            report.vendor, "refund_amount_mismatch", "the answer is about another amount"
        )


def _open(refund: Refund) -> bool:
    return refund.status is RefundStatus.PENDING


def _moved(before: Refund, after: Refund) -> RefundStatus | None:
    return after.status if after.status is not before.status else None


def _answer(refund: Refund) -> Refund:
    """The refund, or PaymentNotRefundable when its vendor plugin said it cannot refund."""
    if refund.failure is not None and refund.failure.startswith(NOT_SUPPORTED + ":"):
        reason = refund.failure.removeprefix(NOT_SUPPORTED + ":").strip()
        raise PaymentNotRefundable(refund.payment_id, reason)
    return refund


def _paid_attempt(payment: Payment) -> Attempt:
    if payment.status is not PaymentStatus.CONFIRMED:
        raise PaymentNotRefundable(payment.id, f"it is {payment.status.value}, not CONFIRMED")
    paid = next((a for a in payment.attempts if a.state is AttemptState.PAID), None)
    if paid is None:  # a CONFIRMED payment always has one; a store that lost it is broken
        raise PaymentNotRefundable(payment.id, "it has no paid attempt")
    return paid


def _paid(payment: Payment, attempt: Attempt) -> Money:
    """What the vendor reported paid for ``attempt``; the payment's amount for older records.

    Attempts settled before the paid amount was recorded were settled paid only for
    exactly the payment's amount (the evidence rule), so that is what they were paid.
    """
    if attempt.amount_paid is not None:
        return attempt.amount_paid
    if attempt.state is AttemptState.PAID:
        return payment.amount
    raise VendorError(payment.vendor, "no_amount", "the paid amount of the charge is unknown")


def _checked_reason(reason: str | None) -> str | None:
    if reason is None or not reason.strip():
        return None
    if len(reason) > REASON_MAX:
        raise ValidationFailed("reason", f"is longer than {REASON_MAX} characters")
    return reason


def _checked_amount(amount: Decimal | None) -> Decimal | None:
    if amount is None:
        return None
    if not amount.is_finite() or amount <= 0:
        raise ValidationFailed("amount", "must be greater than 0")
    return amount


def _money(amount: Decimal, currency: str) -> Money:
    try:
        return Money.parse(amount, currency)
    except AmountNotSupported as exc:
        raise ValidationFailed("amount", exc.reason) from None


def _fingerprint(payment_id: PaymentId, amount: Decimal | None, reason: str | None) -> str:
    shown = None if amount is None else str(amount.normalize())
    canonical = json.dumps(["refund", payment_id, shown, reason], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
