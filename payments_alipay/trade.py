"""From Alipay's verified trade fields to the core's TradeReport (query answers and notifications)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from payments_core.errors import VendorError
from payments_core.money import MAX_AMOUNT, Money
from payments_core.values import TradeReport, TradeStatus

if TYPE_CHECKING:
    from collections.abc import Mapping

    from payments_alipay.settings import AlipaySettings

VENDOR: Final = "alipay"
MAX_MINOR: Final = int(MAX_AMOUNT * 100)
_AMOUNT: Final = re.compile(r"([0-9]{1,10})(?:\.([0-9]{1,2}))?")  # CNY yuan; ASCII digits only
STATUSES: Final = {
    "WAIT_BUYER_PAY": TradeStatus.UNPAID,
    "TRADE_SUCCESS": TradeStatus.PAID,
    "TRADE_FINISHED": TradeStatus.PAID,
    "TRADE_CLOSED": TradeStatus.CLOSED,
}


def _text(fields: Mapping[str, object], name: str) -> str | None:
    value = fields.get(name)
    return value if isinstance(value, str) and value else None


def trade_report(
    fields: Mapping[str, object], settings: AlipaySettings, *, reference: str | None
) -> TradeReport:
    """The report for verified trade fields; ``reference`` is the out_trade_no asked about.

    A paid report carries Alipay's trade_no, the total amount as Money (read as a
    decimal, never a float) and whether the seller is the configured one.

    Raises:
        VendorError: the fields are about another trade, or miss what the status needs.
    """
    out_trade_no = _text(fields, "out_trade_no")
    if out_trade_no is None or (reference is not None and out_trade_no != reference):
        raise VendorError(VENDOR, "wrong_trade", "the answer is not about the trade asked for")
    status = STATUSES.get(_text(fields, "trade_status") or "")
    if status is None:
        raise VendorError(VENDOR, "unknown_trade_status", "the trade status is missing or unknown")
    trade_id = _text(fields, "trade_no")
    if status is not TradeStatus.PAID:
        return TradeReport(vendor=VENDOR, reference=out_trade_no, status=status, trade_id=trade_id)
    if trade_id is None:
        raise VendorError(VENDOR, "missing_trade_no", "a paid trade has no trade_no")
    return TradeReport(
        vendor=VENDOR,
        reference=out_trade_no,
        status=status,
        trade_id=trade_id,
        amount=_amount(fields),
        merchant_matches=_seller_matches(fields, settings, strict=reference is None),
    )


def _amount(fields: Mapping[str, object]) -> Money:
    return amount_field(fields, "total_amount", "a paid trade")


def amount_field(fields: Mapping[str, object], name: str, what: str) -> Money:
    """The CNY amount in the string field ``name``, read exactly (never through a float).

    Raises:
        VendorError: the field is missing, not a string (a JSON number included), or not
            an amount from 0.01 to the largest payable one with at most two decimals.
    """
    text = _text(fields, name)
    if text is None:
        raise VendorError(VENDOR, "missing_amount", f"{what} has no {name}")
    match = _AMOUNT.fullmatch(text)
    minor = int(match[1]) * 100 + int((match[2] or "").ljust(2, "0")) if match else 0
    if not 0 < minor <= MAX_MINOR:
        raise VendorError(VENDOR, "invalid_amount", f"{name} is not a payable amount")
    return Money(minor)


def _seller_matches(
    fields: Mapping[str, object], settings: AlipaySettings, *, strict: bool
) -> bool:
    """Whether the seller is the configured one (always true when none is configured).

    A notification must name the seller. A query answer often does not (Alipay answers
    only about this application's own trades), so a missing seller there is accepted.
    """
    if settings.seller_id is None:
        return True
    seller = _text(fields, "seller_id")
    if seller is None:
        return not strict
    return seller == settings.seller_id
