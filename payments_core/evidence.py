"""The one evidence-checking rule shared by notifications, sweeps and verify calls (docs/decisions.md)."""

from __future__ import annotations

from datetime import datetime

from payments_core.errors import VendorError
from payments_core.payment import TERMINAL, AttemptState, Payment, PaymentStatus
from payments_core.values import TradeReport, TradeStatus

_SETTLED = frozenset({AttemptState.PAID, AttemptState.REJECTED, AttemptState.DUPLICATE})


def apply_report(payment: Payment, report: TradeReport, *, at: datetime) -> Payment:
    """The payment after taking in verified vendor evidence about one of its attempts.

    Returns ``payment`` itself when the report changes nothing (a duplicate, an
    unpaid trade), so callers can skip the save.

    Raises:
        VendorError: the report is for another vendor or attempt, a paid report lacks
            its amount, or names a trade id another attempt of the payment already
            carries (``vendor_code`` ``trade_id_reused``: one trade is one charge).
    """
    attempt = payment.attempt(report.reference)
    if attempt is None or report.vendor != payment.vendor:
        raise VendorError(report.vendor, "unknown_attempt", "the report is not about this payment")
    if attempt.state in _SETTLED or report.status is TradeStatus.UNPAID:
        return payment
    if report.status is TradeStatus.CLOSED:
        return _closed(payment, report.reference, at=at)
    if report.amount is None:
        raise VendorError(report.vendor, "no_amount", "a paid trade was reported without amount")
    _check_trade_id_unused(payment, report)
    if payment.status in TERMINAL:
        return payment.flag_refund(
            report.reference, trade_id=report.trade_id, at=at, paid=report.amount
        )
    if report.amount == payment.amount and report.merchant_matches:
        return payment.confirm(
            report.reference, trade_id=report.trade_id, at=at, paid=report.amount
        )
    return payment.reject(report.reference, trade_id=report.trade_id, at=at, paid=report.amount)


def _check_trade_id_unused(payment: Payment, report: TradeReport) -> None:
    """One vendor trade pays one attempt: the same trade id twice is not a second charge.

    Across payments the repository enforces the same (``DuplicateTradeId``).
    """
    if report.trade_id is None:
        return
    if any(
        a.vendor_trade_id == report.trade_id and a.reference != report.reference
        for a in payment.attempts
    ):
        raise trade_id_reused(report.vendor)


def trade_id_reused(vendor: str) -> VendorError:
    """The refusal of evidence whose trade id already settled another attempt."""
    return VendorError(vendor, "trade_id_reused", "the trade id already paid another attempt")


def _closed(payment: Payment, reference: str, *, at: datetime) -> Payment:
    """Close the attempt; a PENDING payment left with nothing payable times out."""
    attempt = payment.attempt(reference)
    if attempt is None or not attempt.is_open():
        return payment
    closed = payment.close_attempt(reference, at=at)
    if closed.status is PaymentStatus.PENDING and closed.open_attempt() is None:
        return closed.transition(PaymentStatus.TIMEOUT, at=at)
    return closed
