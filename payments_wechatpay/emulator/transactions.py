"""The emulator's book: what a local WeChat Pay knows of each out_trade_no and out_refund_no.

A Native transaction exists from the moment it is ordered (unlike an Alipay page-pay
trade, it needs no scan), so it can be closed before the buyer ever sees its code.
It is closed automatically when its ``time_expire`` passes. Numbers are unique across
the emulator's merchants (a simplification: WeChat Pay scopes them per merchant).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Final

from payments_vendorkit.emulation.limits import MAX_REFUNDS, MAX_TRADES
from payments_wechatpay.emulator.errors import WeChatError
from payments_wechatpay.emulator.fields import CHINA, rfc3339

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

NOTPAY: Final = "NOTPAY"
SUCCESS: Final = "SUCCESS"
CLOSED: Final = "CLOSED"
REFUND: Final = "REFUND"
PAID_STATES: Final = frozenset({SUCCESS, REFUND})
STATE_DESCRIPTIONS: Final = {
    NOTPAY: "未支付",
    SUCCESS: "支付成功",
    CLOSED: "已关闭",
    REFUND: "转入退款",
}
REFUND_STATES: Final = frozenset({"SUCCESS", "PROCESSING", "CLOSED", "ABNORMAL"})
MAX_REFUNDS_PER_TRADE: Final = 50  # WeChat Pay's limit of partial refunds of one payment
DEFAULT_OPENID: Final = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


@dataclass(kw_only=True)
class Order:
    """A verified Native order request."""

    mchid: str
    appid: str
    out_trade_no: str
    description: str
    total: int
    notify_url: str
    attach: str | None
    time_expire: datetime | None


@dataclass(kw_only=True)
class Transaction(Order):
    """One Native transaction as the emulator holds it: its order, and what became of it."""

    created_at: datetime
    code: str  # the ``pr`` of its code_url, and of its scan page
    state: str = NOTPAY
    transaction_id: str | None = None
    paid_at: datetime | None = None
    payer_total: int | None = None
    reported_mchid: str | None = None  # what payment reports, when the control API fakes it
    reported_appid: str | None = None
    closed_at: datetime | None = None
    refunded: int = 0  # fen returned or on their way, CLOSED refunds excluded
    notifications: list[dict[str, object]] = field(default_factory=list)

    @property
    def code_url(self) -> str:
        """What the buyer scans."""
        return f"weixin://wxpay/bizpayurl?pr={self.code}"

    def resource(self) -> dict[str, object]:
        """The transaction as a query answers it, and a notification carries it."""
        node: dict[str, object] = {
            "appid": self.reported_appid or self.appid,
            "mchid": self.reported_mchid or self.mchid,
            "out_trade_no": self.out_trade_no,
            "trade_type": "NATIVE",
            "trade_state": self.state,
            "trade_state_desc": STATE_DESCRIPTIONS[self.state],
            "amount": {"total": self.total, "currency": "CNY"},
        }
        if self.attach is not None:
            node["attach"] = self.attach
        if self.paid_at is not None:
            node |= {
                "transaction_id": self.transaction_id,
                "bank_type": "OTHERS",
                "success_time": rfc3339(self.paid_at),
                "payer": {"openid": DEFAULT_OPENID},
                "amount": {
                    "total": self.payer_total,
                    "payer_total": self.payer_total,
                    "currency": "CNY",
                    "payer_currency": "CNY",
                },
            }
        return node

    def snapshot(self) -> dict[str, object]:
        """A JSON-ready view for the control API."""
        times = {
            "created_at": self.created_at,
            "time_expire": self.time_expire,
            "success_time": self.paid_at,
            "closed_at": self.closed_at,
        }
        return {
            **self.resource(),
            "code_url": self.code_url,
            "description": self.description,
            "notify_url": self.notify_url,
            "refunded": self.refunded,
            **{k: rfc3339(v) if v else None for k, v in times.items()},
            "notifications": list(self.notifications),
        }


@dataclass(kw_only=True)
class Refund:
    """One refund as the emulator holds it."""

    mchid: str
    out_refund_no: str
    refund_id: str
    transaction: Transaction
    refund: int
    reason: str | None
    notify_url: str | None
    created_at: datetime
    status: str = "PROCESSING"
    success_at: datetime | None = None
    notifications: list[dict[str, object]] = field(default_factory=list)

    def resource(self) -> dict[str, object]:
        """The refund as the refund and refund-query calls answer it."""
        trade = self.transaction
        node: dict[str, object] = {
            "refund_id": self.refund_id,
            "out_refund_no": self.out_refund_no,
            "transaction_id": trade.transaction_id,
            "out_trade_no": trade.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": rfc3339(self.created_at),
            "status": self.status,
            "funds_account": "UNSETTLED",
            "amount": {
                "total": trade.payer_total,
                "refund": self.refund,
                "payer_total": trade.payer_total,
                "payer_refund": self.refund,
                "settlement_total": trade.payer_total,
                "settlement_refund": self.refund,
                "discount_refund": 0,
                "currency": "CNY",
            },
        }
        if self.success_at is not None:
            node["success_time"] = rfc3339(self.success_at)
        return node

    def notification_resource(self) -> dict[str, object]:
        """What a refund notification carries (its own field names: ``refund_status``)."""
        trade = self.transaction
        node: dict[str, object] = {
            "mchid": self.mchid,
            "out_trade_no": trade.out_trade_no,
            "transaction_id": trade.transaction_id,
            "out_refund_no": self.out_refund_no,
            "refund_id": self.refund_id,
            "refund_status": self.status,
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": trade.payer_total,
                "refund": self.refund,
                "payer_total": trade.payer_total,
                "payer_refund": self.refund,
            },
        }
        if self.success_at is not None:
            node["success_time"] = rfc3339(self.success_at)
        return node

    def snapshot(self) -> dict[str, object]:
        """A JSON-ready view for the control API."""
        return {
            **self.resource(),
            "mchid": self.mchid,
            "reason": self.reason,
            "notify_url": self.notify_url,
            "notifications": list(self.notifications),
        }


def _digits(now: datetime, prefix: str, width: int) -> str:
    return (
        prefix
        + now.astimezone(CHINA).strftime("%Y%m%d")
        + f"{secrets.randbelow(10**width):0{width}d}"
    )


class Book:
    """All transactions and refunds, guarded by one lock (handlers, control API and tests share it)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._trades: dict[str, Transaction] = {}
        self._codes: dict[str, Transaction] = {}
        self._refunds: dict[str, Refund] = {}

    def reset(self) -> None:
        """Forget every transaction and refund."""
        with self.lock:
            self._trades.clear()
            self._codes.clear()
            self._refunds.clear()

    def get(self, out_trade_no: str) -> Transaction | None:
        """The transaction, with its expiry applied, or None."""
        with self.lock:
            trade = self._trades.get(out_trade_no)
            if trade is not None:
                self._expire(trade)
            return trade

    def by_code(self, code: str) -> Transaction | None:
        """The transaction whose code_url carries ``pr=code``, or None."""
        with self.lock:
            trade = self._codes.get(code)
            return None if trade is None else self.get(trade.out_trade_no)

    def all(self) -> list[Transaction]:
        """Every transaction, oldest first."""
        with self.lock:
            for trade in self._trades.values():
                self._expire(trade)
            return list(self._trades.values())

    def refund(self, out_refund_no: str) -> Refund | None:
        """The refund, or None."""
        with self.lock:
            return self._refunds.get(out_refund_no)

    def refunds(self) -> list[Refund]:
        """Every refund, oldest first."""
        with self.lock:
            return list(self._refunds.values())

    def _expire(self, trade: Transaction) -> None:
        if (
            trade.state == NOTPAY
            and trade.time_expire is not None
            and self.clock() >= trade.time_expire
        ):
            trade.state, trade.closed_at = CLOSED, trade.time_expire

    def order(self, order: Order) -> Transaction:
        """The transaction of a Native order, created on first sight; the same order again
        gets the same transaction while it is unpaid.

        Raises:
            WeChatError: the number is taken by another order, paid, or closed.
        """
        with self.lock:
            trade = self.get(order.out_trade_no)
            if trade is None:
                if len(self._trades) >= MAX_TRADES:
                    raise WeChatError(
                        "FREQUENCY_LIMITED",
                        f"the emulator keeps at most {MAX_TRADES} transactions; POST /control/reset",
                    )
                return self._create(order)
            same = (trade.mchid, trade.appid, trade.description, trade.total, trade.attach) == (
                order.mchid,
                order.appid,
                order.description,
                order.total,
                order.attach,
            )
            if not same:
                raise WeChatError("OUT_TRADE_NO_USED", "商户订单号重复 (out_trade_no used)")
            if trade.state in PAID_STATES:
                raise WeChatError("ORDERPAID", "该订单已支付 (the order is paid)")
            if trade.state == CLOSED:
                raise WeChatError("ORDER_CLOSED", "订单已关闭 (the order is closed)")
            return trade

    def _create(self, order: Order) -> Transaction:
        trade = Transaction(
            **{f.name: getattr(order, f.name) for f in fields(Order)},
            created_at=self.clock(),
            code=secrets.token_urlsafe(16),
        )
        self._trades[trade.out_trade_no] = trade
        self._codes[trade.code] = trade
        return trade

    def owned(self, mchid: str, out_trade_no: str) -> Transaction:
        """The merchant's transaction.

        Raises:
            WeChatError: ORDER_NOT_EXIST (another merchant's counts as none).
        """
        trade = self.get(out_trade_no)
        if trade is None or trade.mchid != mchid:
            raise WeChatError("ORDER_NOT_EXIST", "订单不存在 (no such order)")
        return trade

    def pay(self, out_trade_no: str, *, payer_total: int | None = None) -> Transaction:
        """Mark the transaction paid now (``payer_total`` fakes what is reported).

        Raises:
            WeChatError: unknown, closed (expired included) or already paid.
        """
        with self.lock:
            trade = self.get(out_trade_no)
            if trade is None:
                raise WeChatError("ORDER_NOT_EXIST", "订单不存在 (no such order)")
            if trade.state == CLOSED:
                raise WeChatError("ORDER_CLOSED", "订单已关闭 (closed or expired)")
            if trade.state != NOTPAY:
                raise WeChatError("ORDERPAID", "该订单已支付 (the order is paid)")
            now = self.clock()
            trade.state, trade.paid_at = SUCCESS, now
            trade.transaction_id = _digits(now, "4200", 18)
            trade.payer_total = trade.total if payer_total is None else payer_total
            return trade

    def close(self, mchid: str, out_trade_no: str) -> Transaction | None:
        """Close the merchant's unpaid transaction; closing a closed or unknown one is fine too
        (WeChat Pay answers 204 to both, so a 204 is no proof that the order existed).

        Raises:
            WeChatError: ORDERPAID.
        """
        with self.lock:
            trade = self.get(out_trade_no)
            if trade is None or trade.mchid != mchid:
                return None
            if trade.state in PAID_STATES:
                raise WeChatError(
                    "ORDERPAID", "订单已支付 (the order is paid; it cannot be closed)"
                )
            if trade.state == NOTPAY:
                trade.state, trade.closed_at = CLOSED, self.clock()
            return trade

    def add_refund(
        self, trade: Transaction, out_refund_no: str, refund: int, total: int, **extra: str | None
    ) -> tuple[Refund, bool]:
        """The refund ``out_refund_no`` of ``trade``, and whether it is new.

        The same number again with the same trade and amount is the same refund (so a
        merchant's retry never pays out twice); ``extra`` holds ``reason`` and
        ``notify_url``.

        Raises:
            WeChatError: INVALID_REQUEST (unpaid, total differs, over what is left, the
                number used otherwise, too many refunds) or FREQUENCY_LIMITED (full).
        """
        with self.lock:
            known = self._refunds.get(out_refund_no)
            if known is not None:
                if known.transaction is not trade or known.refund != refund:
                    raise WeChatError(
                        "INVALID_REQUEST", "out_refund_no was used for another refund"
                    )
                return known, False
            if trade.state not in PAID_STATES or trade.payer_total is None:
                raise WeChatError("INVALID_REQUEST", "订单未支付 (the order is not paid)")
            if total != trade.payer_total:
                raise WeChatError("INVALID_REQUEST", "amount.total differs from the order's")
            if refund > trade.payer_total - trade.refunded:
                raise WeChatError(
                    "INVALID_REQUEST", "申请退款金额超过订单可退金额 (over what is left)"
                )
            if sum(r.transaction is trade for r in self._refunds.values()) >= MAX_REFUNDS_PER_TRADE:
                raise WeChatError("INVALID_REQUEST", "an order takes at most 50 refunds")
            if len(self._refunds) >= MAX_REFUNDS:
                raise WeChatError(
                    "FREQUENCY_LIMITED",
                    f"the emulator keeps at most {MAX_REFUNDS} refunds; POST /control/reset",
                )
            now = self.clock()
            created = Refund(
                mchid=trade.mchid,
                out_refund_no=out_refund_no,
                refund_id=_digits(now, "5030", 18),
                transaction=trade,
                refund=refund,
                reason=extra.get("reason"),
                notify_url=extra.get("notify_url"),
                created_at=now,
            )
            self._refunds[out_refund_no] = created
            trade.refunded += refund
            trade.state = REFUND
            return created, True

    def finish_refund(self, out_refund_no: str, status: str) -> Refund:
        """Settle a ``PROCESSING`` refund as ``SUCCESS``, ``CLOSED`` or ``ABNORMAL``.

        A CLOSED refund gives its amount back to what is refundable.

        Raises:
            WeChatError: RESOURCE_NOT_EXISTS, or INVALID_REQUEST (not processing, bad status).
        """
        if status not in REFUND_STATES - {"PROCESSING"}:
            raise WeChatError("INVALID_REQUEST", "status must be SUCCESS, CLOSED or ABNORMAL")
        with self.lock:
            refund = self._refunds.get(out_refund_no)
            if refund is None:
                raise WeChatError("RESOURCE_NOT_EXISTS", "退款单不存在 (no such refund)")
            if refund.status != "PROCESSING":
                raise WeChatError("INVALID_REQUEST", f"the refund is already {refund.status}")
            refund.status = status
            if status == "SUCCESS":
                refund.success_at = self.clock()
            if status == "CLOSED":
                refund.transaction.refunded -= refund.refund
            return refund
