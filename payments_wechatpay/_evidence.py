"""Verified transactions and refunds, as the core's reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from payments_core.errors import VendorError
from payments_core.values import RefundReport, RefundState, TradeReport, TradeStatus
from payments_wechatpay._answers import fen, text
from payments_wechatpay.settings import VENDOR

if TYPE_CHECKING:
    from payments_wechatpay.settings import WeChatPaySettings

TRADE_STATES: Final = {
    "SUCCESS": TradeStatus.PAID,
    "REFUND": TradeStatus.PAID,  # paid, then refunded: it was paid
    "NOTPAY": TradeStatus.UNPAID,
    "USERPAYING": TradeStatus.UNPAID,
    "CLOSED": TradeStatus.CLOSED,
    "REVOKED": TradeStatus.CLOSED,
    "PAYERROR": TradeStatus.CLOSED,
}
REFUND_STATES: Final = {
    "SUCCESS": RefundState.SUCCEEDED,
    "PROCESSING": RefundState.PENDING,
    "CLOSED": RefundState.FAILED,
    "ABNORMAL": RefundState.FAILED,  # the buyer's account refused it; the console must act
}


def trade_report(
    transaction: Mapping[str, object], settings: WeChatPaySettings, *, reference: str
) -> TradeReport:
    """The report of a verified transaction about ``reference``.

    Raises:
        VendorError: about another trade, an unknown state, or a paid one lacking its id or amount.
    """
    if transaction.get("out_trade_no") != reference:
        raise VendorError(VENDOR, "wrong_trade", "the answer is about another out_trade_no")
    state = text(transaction, "trade_state")
    status = TRADE_STATES.get(state)
    if status is None:
        raise VendorError(VENDOR, "unknown_state", "the trade state is not one we know")
    matches = transaction.get("mchid") == settings.mchid and (
        transaction.get("appid") == settings.appid
    )
    if status is not TradeStatus.PAID:
        return TradeReport(
            vendor=VENDOR, reference=reference, status=status, merchant_matches=matches
        )
    return TradeReport(
        vendor=VENDOR,
        reference=reference,
        status=status,
        trade_id=text(transaction, "transaction_id"),
        amount=fen(transaction, "total"),
        merchant_matches=matches,
    )


def refund_report(
    refund: Mapping[str, object], *, reference: str | None, refund_reference: str | None
) -> RefundReport:
    """The report of a verified refund; the references, when given, must be the ones it names.

    Raises:
        VendorError: about another refund, an unknown state, or fields missing.
    """
    out_trade_no, out_refund_no = text(refund, "out_trade_no"), text(refund, "out_refund_no")
    if reference not in (None, out_trade_no) or refund_reference not in (None, out_refund_no):
        raise VendorError(VENDOR, "wrong_refund", "the answer is about another refund")
    named = refund.get("status", refund.get("refund_status"))
    state_name = named if isinstance(named, str) else ""
    state = REFUND_STATES.get(state_name)
    if state is None:
        raise VendorError(VENDOR, "unknown_state", "the refund state is not one we know")
    return RefundReport(
        vendor=VENDOR,
        reference=out_trade_no,
        refund_reference=out_refund_no,
        state=state,
        amount=fen(refund, "refund"),
        failure=state_name if state is RefundState.FAILED else None,
    )


def refused_refund(reference: str, refund_reference: str, code: str) -> RefundReport:
    """A refund WeChat Pay refused in a signed answer: FAILED with its code."""
    return RefundReport(
        vendor=VENDOR,
        reference=reference,
        refund_reference=refund_reference,
        state=RefundState.FAILED,
        failure=code,
    )
