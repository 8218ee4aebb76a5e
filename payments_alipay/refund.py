"""Refunds: what ``alipay.trade.refund`` is sent, and what its answers, the refund query's
answers and refund notifications are evidence of (docs/alipay.md, "Refunds").

Only positive evidence makes a refund SUCCEEDED (``fund_change`` Y, a refund query that
reports it, a refund notification), and only a signed refusal by Alipay's business rules
makes it FAILED: a FAILED refund frees its amount to be refunded again, so a refund that
may have paid out is never called FAILED.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Final

from payments_alipay._checkout import check_reference, cut
from payments_alipay._response import failure, sub_code, text_field
from payments_alipay.trade import amount_field
from payments_core.errors import VendorError, VendorUnavailable
from payments_core.values import RefundReport, RefundState

if TYPE_CHECKING:
    from collections.abc import Mapping

    from payments_alipay.settings import AlipaySettings
    from payments_core.money import Money

VENDOR: Final = "alipay"
REFUND: Final = "alipay.trade.refund"
REFUND_QUERY: Final = "alipay.trade.fastpay.refund.query"
REASON_MAX: Final = 256
REFUND_SUCCESS: Final = "REFUND_SUCCESS"
NOT_EXIST: Final = "ACQ.TRADE_NOT_EXIST"
# Alipay asks to send again unchanged once the merchant's balance is topped up: the
# refund stays PENDING and the sweep sends it again with the same out_request_no.
RETRY_LATER: Final = frozenset({"ACQ.SELLER_BALANCE_NOT_ENOUGH"})
# The out_request_no was used with other content: whether that refund paid is asked.
DISCORDANT: Final = "ACQ.DISCORDANT_REPEAT_REQUEST"
BUSINESS_FAILURE: Final = "40004"  # ACQ.* refusals of this refund by Alipay's rules
REFUND_FIELDS: Final = ("out_biz_no", "refund_fee", "gmt_refund")
REFUNDED_STATUSES: Final = frozenset({"TRADE_SUCCESS", "TRADE_CLOSED", "TRADE_FINISHED"})
log = logging.getLogger("payments_alipay")


@dataclass(frozen=True)
class Ask:
    """Alipay took the call but did not say the money moved: the refund query decides.

    ``otherwise`` is the report when the query does not find the refund paid.
    """

    otherwise: RefundReport


def refund_biz(
    reference: str, refund_reference: str, amount: Money, reason: str | None
) -> dict[str, str]:
    """The ``biz_content`` of ``alipay.trade.refund``: out_request_no is always sent.

    Raises:
        VendorError: a reference Alipay cannot take, a currency other than CNY, or an
            amount that is not positive.
    """
    if amount.currency != "CNY":
        raise VendorError(VENDOR, "currency_not_supported", "Alipay refunds CNY only")
    if amount.minor <= 0:
        raise VendorError(VENDOR, "invalid_amount", "a refund amount must be positive")
    biz = {
        "out_trade_no": check_reference(reference),
        "out_request_no": check_reference(refund_reference),
        "refund_amount": f"{amount.to_decimal():.2f}",
    }
    text = cut(reason or "", REASON_MAX)
    if text:
        biz["refund_reason"] = text
    return biz


def refund_verdict(
    node: dict[str, object], reference: str, refund_reference: str, amount: Money
) -> RefundReport | Ask:
    """What a verified ``alipay.trade.refund`` answer says of the refund.

    Raises:
        VendorUnavailable: Alipay asked to send it again later.
        VendorDeclined: Alipay refused the call itself (keys, app id, permissions), so it
            never judged the refund.
        VendorError: a success about another trade, or with an unreadable refund_fee.
    """
    code = sub_code(node)
    report = _report(reference, refund_reference)
    if code is None:
        _same(node, "out_trade_no", reference, "wrong_trade")
        if node.get("fund_change") != "Y":
            return Ask(otherwise=report(state=RefundState.PENDING))
        refunded = amount_field(node, "refund_fee", "a refund answer")  # the trade's total
        if refunded.minor < amount.minor:
            raise VendorError(VENDOR, "invalid_amount", "refund_fee is less than this refund")
        return report(state=RefundState.SUCCEEDED, amount=amount)
    if code in RETRY_LATER:
        log.warning("alipay %s refused for now: sub_code=%s", REFUND, code)
        raise VendorUnavailable(VENDOR, f"Alipay asked to send the refund again later ({code})")
    if code == DISCORDANT:
        return Ask(otherwise=report(state=RefundState.FAILED, failure=code))
    error = failure(node, REFUND)  # logs; transient codes become VendorUnavailable
    if isinstance(error, VendorUnavailable) or node.get("code") != BUSINESS_FAILURE:
        raise error
    return report(state=RefundState.FAILED, failure=code)


def refund_query_report(
    node: dict[str, object], reference: str, refund_reference: str
) -> RefundReport:
    """What a verified ``alipay.trade.fastpay.refund.query`` answer says of the refund.

    ``10000`` alone only means the query ran: without the refund's number and amount it
    is NOT_FOUND. ``refund_status`` ``REFUND_SUCCESS`` is SUCCEEDED, and so is an answer
    that names the refund and its amount without any ``refund_status`` (Alipay's older
    answers: "if data is returned, the refund succeeded"). Any other status is PENDING.

    Raises:
        VendorUnavailable, VendorDeclined: as for ``refund_verdict``.
        VendorError: an answer about another trade or refund, or half an answer.
    """
    code = sub_code(node)
    report = _report(reference, refund_reference)
    if code == NOT_EXIST:
        return report(state=RefundState.NOT_FOUND)
    if code is not None:
        raise failure(node, REFUND_QUERY)
    _same(node, "out_trade_no", reference, "wrong_trade")
    _same(node, "out_request_no", refund_reference, "wrong_refund")
    status = node.get("refund_status") or None  # an empty status is no status
    named = text_field(node, "out_request_no") is not None
    has_amount = node.get("refund_amount") not in (None, "")
    if status is None and not named and not has_amount:
        return report(state=RefundState.NOT_FOUND)
    if status == REFUND_SUCCESS or (status is None and named and has_amount):
        refunded = amount_field(node, "refund_amount", "a refund")
        return report(state=RefundState.SUCCEEDED, amount=refunded)
    if status is None:
        raise VendorError(VENDOR, "incomplete_refund", "the refund answer is incomplete")
    return report(state=RefundState.PENDING)


def is_refund_notification(fields: Mapping[str, str]) -> bool:
    """Whether a notification reports a refund (it names one), not the trade's payment."""
    return any(fields.get(name) for name in REFUND_FIELDS)


def refund_notification_report(fields: Mapping[str, str], settings: AlipaySettings) -> RefundReport:
    """The SUCCEEDED report of a verified refund notification.

    ``out_biz_no`` is the refund's out_request_no. ``refund_fee`` is what the trade has
    had refunded in all, not this refund's amount, so the report carries no amount; it
    is still checked (an exact amount, at most the trade's total).

    Raises:
        VendorError: a field the report needs is missing or malformed, the trade status
            is not one a refunded trade has, or the seller is not the configured one.
    """
    reference = text_field(dict(fields), "out_trade_no")
    if reference is None:
        raise VendorError(VENDOR, "wrong_trade", "the refund notification names no trade")
    refund_reference = fields.get("out_biz_no", "")
    try:
        check_reference(refund_reference)
    except VendorError:
        raise VendorError(
            VENDOR, "invalid_refund_reference", "out_biz_no is not one of our refund numbers"
        ) from None
    if fields.get("trade_status") not in REFUNDED_STATUSES:
        raise VendorError(VENDOR, "unknown_trade_status", "not the status of a refunded trade")
    refunded = amount_field(fields, "refund_fee", "a refund notification")
    total = amount_field(fields, "total_amount", "a refund notification")
    if refunded.minor > total.minor:
        raise VendorError(VENDOR, "invalid_amount", "refund_fee is more than total_amount")
    if settings.seller_id is not None and fields.get("seller_id") != settings.seller_id:
        log.warning("alipay refund notification for another seller refused")
        raise VendorError(VENDOR, "wrong_seller", "the refund is not of the configured seller")
    return RefundReport(
        vendor=VENDOR,
        reference=reference,
        refund_reference=refund_reference,
        state=RefundState.SUCCEEDED,
    )


def _same(node: Mapping[str, object], name: str, expected: str, code: str) -> None:
    value = node.get(name)
    if value is not None and value != expected:
        raise VendorError(VENDOR, code, f"the answer's {name} is not the one asked for")


def _report(reference: str, refund_reference: str) -> partial[RefundReport]:
    return partial(
        RefundReport, vendor=VENDOR, reference=reference, refund_reference=refund_reference
    )
