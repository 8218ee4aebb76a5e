"""The emulator's trade book: what a local Alipay knows of each out_trade_no.

A trade exists once the buyer opens the pay page (as at Alipay: building the URL
creates nothing). It is closed automatically when its ``time_expire`` passes.
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Final

from payments_vendorkit.emulation.limits import MAX_TRADES, MAX_URL

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

CHINA: Final = timezone(timedelta(hours=8), "Asia/Shanghai")
TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
PRODUCT_CODES: Final = {
    "alipay.trade.page.pay": "FAST_INSTANT_TRADE_PAY",
    "alipay.trade.wap.pay": "QUICK_WAP_WAY",
}
WAIT_BUYER_PAY: Final = "WAIT_BUYER_PAY"
TRADE_SUCCESS: Final = "TRADE_SUCCESS"
TRADE_CLOSED: Final = "TRADE_CLOSED"
_REFERENCE: Final = re.compile(r"[0-9A-Za-z_]{1,64}")
_AMOUNT: Final = re.compile(r"[0-9]{1,9}(\.[0-9]{1,2})?")  # ASCII: \d takes any digit
_FORBIDDEN: Final = frozenset("&=/")  # in subject and body, by Alipay's field rules


class TradeError(Exception):
    """A business failure, with Alipay's sub_code (``ACQ.*``) and a message."""

    def __init__(self, sub_code: str, message: str) -> None:
        super().__init__(message)
        self.sub_code = sub_code
        self.message = message


@dataclass(kw_only=True)
class Trade:
    """One trade as the emulator holds it."""

    app_id: str
    out_trade_no: str
    trade_no: str
    method: str
    total_amount: str
    subject: str
    body: str | None
    time_expire: datetime | None
    notify_url: str | None
    return_url: str | None
    quit_url: str | None
    created_at: datetime
    status: str = WAIT_BUYER_PAY
    paid_at: datetime | None = None
    paid_amount: str | None = None
    seller_id: str | None = None
    buyer_id: str | None = None
    closed_at: datetime | None = None
    notifications: list[dict[str, object]] = field(default_factory=list)

    def snapshot(self) -> dict[str, object]:
        """A JSON-ready view for the control API."""
        times = {
            "created_at": self.created_at,
            "paid_at": self.paid_at,
            "closed_at": self.closed_at,
            "time_expire": self.time_expire,
        }
        return {
            "app_id": self.app_id,
            "out_trade_no": self.out_trade_no,
            "trade_no": self.trade_no,
            "method": self.method,
            "trade_status": self.status,
            "total_amount": self.total_amount,
            "paid_amount": self.paid_amount,
            "subject": self.subject,
            "body": self.body,
            "seller_id": self.seller_id,
            "buyer_id": self.buyer_id,
            "notify_url": self.notify_url,
            "return_url": self.return_url,
            **{k: cst(v) if v else None for k, v in times.items()},
            "notifications": list(self.notifications),
        }


def cst(moment: datetime) -> str:
    """Alipay's time format, in China Standard Time."""
    return moment.astimezone(CHINA).strftime(TIME_FORMAT)


def parse_cst(text: str) -> datetime:
    """Alipay's ``yyyy-MM-dd HH:mm:ss`` (China Standard Time) as an aware datetime."""
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=CHINA)


def _trade_no(now: datetime) -> str:
    return now.astimezone(CHINA).strftime("%Y%m%d") + "22001" + f"{secrets.randbelow(10**15):015d}"


class TradeBook:
    """All trades, guarded by one lock (handlers, the control API and tests share it)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._trades: dict[str, Trade] = {}

    def reset(self) -> None:
        """Forget every trade."""
        with self.lock:
            self._trades.clear()

    def get(self, out_trade_no: str) -> Trade | None:
        """The trade, with its expiry applied, or None."""
        with self.lock:
            trade = self._trades.get(out_trade_no)
            if trade is not None:
                self._expire(trade)
            return trade

    def all(self) -> list[Trade]:
        """Every trade, oldest first."""
        with self.lock:
            for trade in self._trades.values():
                self._expire(trade)
            return list(self._trades.values())

    def _expire(self, trade: Trade) -> None:
        now = self.clock()
        if (
            trade.status == WAIT_BUYER_PAY
            and trade.time_expire is not None
            and now >= trade.time_expire
        ):
            trade.status, trade.closed_at = TRADE_CLOSED, trade.time_expire

    def open(
        self, app_id: str, method: str, params: Mapping[str, str], biz: Mapping[str, object]
    ) -> Trade:
        """The trade for a page/WAP pay request, created on first sight.

        Raises:
            TradeError: invalid parameters, expired, or the number is taken otherwise.
        """
        fields = _pay_fields(method, biz, self.clock())
        _check_urls({**params, **fields})
        with self.lock:
            trade = self.get(fields["out_trade_no"])
            if trade is None:
                if len(self._trades) >= MAX_TRADES:
                    raise TradeError(
                        "ACQ.SYSTEM_ERROR",
                        f"the emulator keeps at most {MAX_TRADES} trades; POST /control/reset",
                    )
                trade = self._create(app_id, method, params, fields)
            _check_reopen(trade, app_id, fields)
            return trade

    def _create(
        self, app_id: str, method: str, params: Mapping[str, str], fields: dict[str, str]
    ) -> Trade:
        now = self.clock()
        expire = fields.get("time_expire")
        trade = Trade(
            app_id=app_id,
            out_trade_no=fields["out_trade_no"],
            trade_no=_trade_no(now),
            method=method,
            total_amount=fields["total_amount"],
            subject=fields["subject"],
            body=fields.get("body"),
            time_expire=parse_cst(expire) if expire else None,
            notify_url=params.get("notify_url") or None,
            return_url=params.get("return_url") or None,
            quit_url=fields.get("quit_url"),
            created_at=now,
        )
        self._trades[trade.out_trade_no] = trade
        return trade

    def pay(self, out_trade_no: str, *, amount: str | None, seller_id: str, buyer_id: str) -> Trade:
        """Mark the trade paid now.

        Raises:
            TradeError: unknown, closed (expired included) or already paid.
        """
        with self.lock:
            trade = self.get(out_trade_no)
            if trade is None:
                raise TradeError("ACQ.TRADE_NOT_EXIST", "no such trade; open the pay page first")
            if trade.status == TRADE_CLOSED:
                raise TradeError("ACQ.TRADE_HAS_CLOSE", "the trade is closed (or expired)")
            if trade.status != WAIT_BUYER_PAY:
                raise TradeError("ACQ.TRADE_HAS_SUCCESS", "the trade is already paid")
            trade.status, trade.paid_at = TRADE_SUCCESS, self.clock()
            trade.paid_amount = amount or trade.total_amount
            trade.seller_id, trade.buyer_id = seller_id, buyer_id
            return trade

    def close(self, out_trade_no: str) -> Trade:
        """Close a trade waiting for payment.

        Raises:
            TradeError: unknown, or not waiting for payment.
        """
        with self.lock:
            trade = self.get(out_trade_no)
            if trade is None:
                raise TradeError("ACQ.TRADE_NOT_EXIST", "交易不存在")
            if trade.status != WAIT_BUYER_PAY:
                raise TradeError("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            trade.status, trade.closed_at = TRADE_CLOSED, self.clock()
            return trade


def _pay_fields(method: str, biz: Mapping[str, object], now: datetime) -> dict[str, str]:
    fields = {k: v for k, v in biz.items() if isinstance(v, str)}
    if not _REFERENCE.fullmatch(fields.get("out_trade_no", "")):
        raise TradeError("ACQ.INVALID_PARAMETER", "out_trade_no must be 1-64 letters, digits or _")
    _check_amount(fields.get("total_amount", ""))
    subject = fields.get("subject", "")
    if not subject or len(subject) > 256:
        raise TradeError("ACQ.INVALID_PARAMETER", "subject must be 1-256 characters")
    if len(fields.get("body", "")) > 128:
        raise TradeError("ACQ.INVALID_PARAMETER", "body must be at most 128 characters")
    if _FORBIDDEN & set(subject + fields.get("body", "")):
        raise TradeError("ACQ.INVALID_PARAMETER", "subject and body must not contain /, = or &")
    if fields.get("product_code", PRODUCT_CODES[method]) != PRODUCT_CODES[method]:
        raise TradeError("ACQ.INVALID_PARAMETER", f"product_code must be {PRODUCT_CODES[method]}")
    if "time_expire" in fields:
        _check_expiry(fields["time_expire"], now)
    return fields


def _check_urls(values: Mapping[str, object]) -> None:
    for name in ("notify_url", "return_url", "quit_url"):
        value = values.get(name)
        if isinstance(value, str) and len(value) > MAX_URL:
            raise TradeError(
                "ACQ.INVALID_PARAMETER", f"{name} must be at most {MAX_URL} characters"
            )


def _check_amount(text: str) -> None:
    try:
        value = Decimal(text) if _AMOUNT.fullmatch(text) else Decimal(0)
    except InvalidOperation:
        value = Decimal(0)
    if not Decimal("0.01") <= value <= Decimal("100000000"):
        raise TradeError("ACQ.INVALID_PARAMETER", "订单总金额格式错误 (total_amount)")


def _check_expiry(text: str, now: datetime) -> None:
    try:
        expire = parse_cst(text)
    except ValueError:
        raise TradeError(
            "ACQ.INVALID_PARAMETER", "time_expire must be yyyy-MM-dd HH:mm:ss"
        ) from None
    if expire <= now:
        raise TradeError("ACQ.TRADE_HAS_CLOSE", "the payment window (time_expire) has passed")


def _check_reopen(trade: Trade, app_id: str, fields: dict[str, str]) -> None:
    if (
        trade.app_id != app_id
        or trade.total_amount != fields["total_amount"]
        or trade.subject != fields["subject"]
    ):
        raise TradeError("ACQ.CONTEXT_INCONSISTENT", "out_trade_no was used with other parameters")
    if trade.status == TRADE_CLOSED:
        raise TradeError("ACQ.TRADE_HAS_CLOSE", "the trade is closed; use a new out_trade_no")
    if trade.status != WAIT_BUYER_PAY:
        raise TradeError("ACQ.TRADE_HAS_SUCCESS", "the trade is already paid")
