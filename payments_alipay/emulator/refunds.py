"""The emulator's refunds: ``alipay.trade.refund`` and ``alipay.trade.fastpay.refund.query``.

As Alipay behaves:

* One ``out_request_no`` of a trade is paid out once. Sending it again with the same
  amount answers ``10000`` with ``fund_change`` N; with another amount,
  ``ACQ.DISCORDANT_REPEAT_REQUEST``. Without an ``out_request_no`` the request number
  is the ``out_trade_no`` and only a refund of the whole amount is taken
  (``ACQ.REFUND_AMT_NOT_EQUAL_TOTAL`` otherwise).
* Refunds add up per trade (``refund_fee`` is the trade's total refunded); more than
  was paid is ``ACQ.REASON_TRADE_REFUND_FEE_ERR``. A trade refunded in full is closed.
* Only a paid trade can be refunded (``ACQ.TRADE_STATUS_ERROR``).
* The refund query answers ``10000`` with nothing but code and msg for a refund it
  never had, and the refund with ``refund_status`` ``REFUND_SUCCESS`` otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from payments_alipay.emulator.trades import (
    TRADE_CLOSED,
    TRADE_SUCCESS,
    TradeError,
    check_amount,
    cst,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from payments_alipay.emulator.trades import Trade

REFUND: Final = "alipay.trade.refund"
REFUND_QUERY: Final = "alipay.trade.fastpay.refund.query"
_REQUEST_NO: Final = re.compile(r"[0-9A-Za-z_]{1,64}")
_REASON_MAX: Final = 256


@dataclass(frozen=True, kw_only=True)
class RefundRecord:
    """One refund the emulator paid out."""

    out_request_no: str
    amount: Decimal
    reason: str | None
    at: datetime

    def snapshot(self) -> dict[str, object]:
        """A JSON-ready view for the control API."""
        return {
            "out_request_no": self.out_request_no,
            "refund_amount": f"{self.amount:.2f}",
            "refund_reason": self.reason,
            "gmt_refund": cst(self.at),
        }


def refunded(trade: Trade) -> Decimal:
    """What the trade has had refunded in all."""
    return sum((r.amount for r in trade.refunds), Decimal(0))


def refund_fee(trade: Trade) -> str:
    """The trade's total refunded, as Alipay writes it."""
    return f"{refunded(trade):.2f}"


def refund(trade: Trade, biz: Mapping[str, object], now: datetime) -> RefundRecord | None:
    """Pay out the refund ``biz`` asks for; None when that request was paid out before.

    Raises:
        TradeError: with Alipay's sub_code, when the refund is refused.
    """
    amount = _amount(biz.get("refund_amount"))
    request_no = biz.get("out_request_no") or trade.out_trade_no
    if not isinstance(request_no, str) or not _REQUEST_NO.fullmatch(request_no):
        raise TradeError("ACQ.INVALID_PARAMETER", "out_request_no must be 1-64 letters or digits")
    reason = biz.get("refund_reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > _REASON_MAX):
        raise TradeError("ACQ.INVALID_PARAMETER", "refund_reason must be at most 256 characters")
    earlier = next((r for r in trade.refunds if r.out_request_no == request_no), None)
    if earlier is not None:
        if earlier.amount != amount:
            raise TradeError(
                "ACQ.DISCORDANT_REPEAT_REQUEST", "不一致的请求 (out_request_no reused)"
            )
        return None
    paid = _paid(trade)
    if trade.status != TRADE_SUCCESS or paid is None:
        raise TradeError("ACQ.TRADE_STATUS_ERROR", "交易状态不合法 (the trade is not paid)")
    if "out_request_no" not in biz and amount != paid:
        raise TradeError("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "撤销或退款金额与订单金额不一致")
    if refunded(trade) + amount > paid:
        raise TradeError("ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额无效 (more than was paid)")
    record = RefundRecord(out_request_no=request_no, amount=amount, reason=reason, at=now)
    trade.refunds.append(record)
    if refunded(trade) == paid:
        trade.status, trade.closed_at = TRADE_CLOSED, now
    return record


def refund_node(trade: Trade, record: RefundRecord | None, now: datetime) -> dict[str, object]:
    """The success node of ``alipay.trade.refund``; ``fund_change`` N for a repeat."""
    return {
        "code": "10000",
        "msg": "Success",
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "buyer_logon_id": "tes***@example.com",
        "buyer_user_id": trade.buyer_id,
        "fund_change": "Y" if record is not None else "N",
        "refund_fee": refund_fee(trade),
        "gmt_refund_pay": cst(record.at if record else now),
        "send_back_fee": f"{record.amount:.2f}" if record else "0.00",
    }


def query_node(trade: Trade | None, biz: Mapping[str, object]) -> dict[str, object]:
    """The success node of ``alipay.trade.fastpay.refund.query``.

    Raises:
        TradeError: no ``out_request_no`` was given.
    """
    request_no = biz.get("out_request_no")
    if not isinstance(request_no, str) or not request_no:
        raise TradeError("ACQ.INVALID_PARAMETER", "out_request_no is required")
    node: dict[str, object] = {"code": "10000", "msg": "Success"}
    found = (
        next((r for r in trade.refunds if r.out_request_no == request_no), None) if trade else None
    )
    if trade is None or found is None:
        return node
    node |= {
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "out_request_no": found.out_request_no,
        "total_amount": trade.paid_amount or trade.total_amount,
        "refund_amount": f"{found.amount:.2f}",
        "refund_status": "REFUND_SUCCESS",
    }
    options = biz.get("query_options")
    if isinstance(options, list) and "gmt_refund_pay" in options:
        node["gmt_refund_pay"] = cst(found.at)
    return node


def _amount(value: object) -> Decimal:
    """A refund_amount as Alipay takes it: a decimal string, or a JSON number."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TradeError("ACQ.INVALID_PARAMETER", "refund_amount must be an amount")
    text = value if isinstance(value, str) else repr(value)
    check_amount(text, "refund_amount")
    return Decimal(text)


def _paid(trade: Trade) -> Decimal | None:
    """What the buyer paid; None when unpaid, or paid a faked amount that is no amount."""
    try:
        check_amount(trade.paid_amount or "", "paid_amount")
    except TradeError:
        return None
    return Decimal(trade.paid_amount or "")
