"""The emulator's trade book: what a local Alipay knows of each out_trade_no.

A trade exists once the buyer opens the pay page (as at Alipay: building the URL
creates nothing). It is closed automatically when its ``time_expire`` passes (or its
``timeout_express``, counted from its creation), and the book tells ``on_close`` so
that the closing is notified. It is found by ``trade_no`` too.
"""

from __future__ import annotations

import heapq
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Final

from payments_alipay.emulator.limits import MAX_TRADES, MAX_URL

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from payments_alipay.emulator.refunds import RefundRecord

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
_TIMEOUT_EXPRESS: Final = re.compile(r"([1-9][0-9]{0,5})([mhd])|1c")
_UNITS: Final = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
SHORTEST_WINDOW: Final = timedelta(minutes=1)  # Alipay's range for either expiry: 1m to 15d
LONGEST_WINDOW: Final = timedelta(days=15)


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
    passback_params: str | None = None
    status: str = WAIT_BUYER_PAY
    paid_at: datetime | None = None
    paid_amount: str | None = None
    seller_id: str | None = None
    buyer_id: str | None = None
    closed_at: datetime | None = None
    notifications: list[dict[str, object]] = field(default_factory=list)
    refunds: list[RefundRecord] = field(default_factory=list)

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
            "passback_params": self.passback_params,
            **{k: cst(v) if v else None for k, v in times.items()},
            "refunds": [refund.snapshot() for refund in self.refunds],
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


def _ignore(trade: Trade) -> None:
    del trade


class TradeBook:
    """All trades, guarded by one lock (handlers, the control API and tests share it).

    ``on_close`` is called, under the lock, for each trade that closes without being
    paid (its expiry passed, or the merchant closed it).
    """

    def __init__(
        self, clock: Callable[[], datetime], on_close: Callable[[Trade], None] = _ignore
    ) -> None:
        self.clock = clock
        self.on_close = on_close
        self.lock = threading.RLock()
        self._trades: dict[str, Trade] = {}
        self._by_trade_no: dict[str, str] = {}
        self._expiring: list[tuple[datetime, str]] = []  # a heap of (time_expire, out_trade_no)

    def reset(self) -> None:
        """Forget every trade."""
        with self.lock:
            self._trades.clear()
            self._by_trade_no.clear()
            self._expiring.clear()

    def get(self, out_trade_no: str) -> Trade | None:
        """The trade, with every expiry due applied, or None."""
        with self.lock:
            self.expire_due()
            return self._trades.get(out_trade_no)

    def find(self, biz: Mapping[str, object]) -> Trade | None:
        """The trade a server call names: by ``trade_no`` when given, else ``out_trade_no``.

        Raises:
            TradeError: neither is given.
        """
        trade_no, out_trade_no = biz.get("trade_no"), biz.get("out_trade_no")
        with self.lock:
            if isinstance(trade_no, str) and trade_no:
                self.expire_due()
                known = self._by_trade_no.get(trade_no)
                return self._trades.get(known) if known else None
            if isinstance(out_trade_no, str) and out_trade_no:
                return self.get(out_trade_no)
        raise TradeError("ACQ.INVALID_PARAMETER", "give trade_no or out_trade_no")

    def all(self) -> list[Trade]:
        """Every trade, oldest first."""
        with self.lock:
            self.expire_due()
            return list(self._trades.values())

    def expire_due(self) -> None:
        """Close every unpaid trade whose expiry has passed, and tell ``on_close``."""
        now = self.clock()
        with self.lock:
            while self._expiring and self._expiring[0][0] <= now:
                _, out_trade_no = heapq.heappop(self._expiring)
                trade = self._trades.get(out_trade_no)
                if trade is not None and trade.status == WAIT_BUYER_PAY:
                    trade.status, trade.closed_at = TRADE_CLOSED, trade.time_expire
                    self.on_close(trade)

    def open(
        self, app_id: str, method: str, params: Mapping[str, str], biz: Mapping[str, object]
    ) -> Trade:
        """The trade for a page/WAP pay request, created on first sight.

        Raises:
            TradeError: invalid parameters, expired, or the number is taken otherwise.
        """
        fields = _pay_fields(method, biz, self.clock(), parse_cst(params["timestamp"]))
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
        expire = parse_cst(fields["time_expire"]) if "time_expire" in fields else None
        relative = fields.get("timeout_express")
        if expire is None and relative is not None:
            expire = _relative_expiry(relative, now)
        trade = Trade(
            app_id=app_id,
            out_trade_no=fields["out_trade_no"],
            trade_no=_trade_no(now),
            method=method,
            total_amount=fields["total_amount"],
            subject=fields["subject"],
            body=fields.get("body"),
            time_expire=expire,
            notify_url=params.get("notify_url") or None,
            return_url=params.get("return_url") or None,
            quit_url=fields.get("quit_url"),
            created_at=now,
            passback_params=fields.get("passback_params"),
        )
        self._trades[trade.out_trade_no] = trade
        self._by_trade_no[trade.trade_no] = trade.out_trade_no
        if expire is not None:
            heapq.heappush(self._expiring, (expire, trade.out_trade_no))
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

    def close(self, biz: Mapping[str, object]) -> Trade:
        """Close the trade waiting for payment that ``biz`` names, and tell ``on_close``.

        Raises:
            TradeError: unknown, or not waiting for payment.
        """
        with self.lock:
            trade = self.find(biz)
            if trade is None:
                raise TradeError("ACQ.TRADE_NOT_EXIST", "交易不存在")
            if trade.status != WAIT_BUYER_PAY:
                raise TradeError("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            trade.status, trade.closed_at = TRADE_CLOSED, self.clock()
            self.on_close(trade)
            return trade


def _pay_fields(
    method: str, biz: Mapping[str, object], now: datetime, sent_at: datetime
) -> dict[str, str]:
    fields = {k: v for k, v in biz.items() if isinstance(v, str)}
    if not _REFERENCE.fullmatch(fields.get("out_trade_no", "")):
        raise TradeError("ACQ.INVALID_PARAMETER", "out_trade_no must be 1-64 letters, digits or _")
    check_amount(fields.get("total_amount", ""), "total_amount")
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
        _check_expiry(fields["time_expire"], now, sent_at)
    if "timeout_express" in fields:
        _relative_expiry(fields["timeout_express"], now)
    return fields


def _check_urls(values: Mapping[str, object]) -> None:
    for name in ("notify_url", "return_url", "quit_url"):
        value = values.get(name)
        if isinstance(value, str) and len(value) > MAX_URL:
            raise TradeError(
                "ACQ.INVALID_PARAMETER", f"{name} must be at most {MAX_URL} characters"
            )


def check_amount(text: str, name: str) -> None:
    """An amount Alipay takes: 0.01 to 100,000,000 yuan, at most two decimals.

    Raises:
        TradeError: ``ACQ.INVALID_PARAMETER`` naming the field.
    """
    try:
        value = Decimal(text) if _AMOUNT.fullmatch(text) else Decimal(0)
    except InvalidOperation:
        value = Decimal(0)
    if not Decimal("0.01") <= value <= Decimal("100000000"):
        raise TradeError("ACQ.INVALID_PARAMETER", f"金额格式错误 ({name})")


def _check_expiry(text: str, now: datetime, sent_at: datetime) -> None:
    """``time_expire``: not passed, and 1 minute to 15 days after the request was signed."""
    try:
        expire = parse_cst(text)
    except ValueError:
        raise TradeError(
            "ACQ.INVALID_PARAMETER", "time_expire must be yyyy-MM-dd HH:mm:ss"
        ) from None
    if expire <= now:
        raise TradeError("ACQ.TRADE_HAS_CLOSE", "the payment window (time_expire) has passed")
    if not SHORTEST_WINDOW <= expire - sent_at <= LONGEST_WINDOW:
        raise TradeError(
            "ACQ.INVALID_PARAMETER", "time_expire must be 1 minute to 15 days after timestamp"
        )


def _relative_expiry(text: str, now: datetime) -> datetime:
    """When ``timeout_express`` (``90m``, ``2h``, ``15d``, or ``1c``: midnight) ends.

    Raises:
        TradeError: not of that form, or outside 1 minute to 15 days.
    """
    match = _TIMEOUT_EXPRESS.fullmatch(text)
    if match is None:
        raise TradeError("ACQ.INVALID_PARAMETER", "timeout_express must be like 90m, 2h, 1d or 1c")
    if match[0] == "1c":
        today = now.astimezone(CHINA).replace(hour=0, minute=0, second=0, microsecond=0)
        return today + timedelta(days=1)
    window = int(match[1]) * _UNITS[match[2]]
    if not SHORTEST_WINDOW <= window <= LONGEST_WINDOW:
        raise TradeError("ACQ.INVALID_PARAMETER", "timeout_express must be 1m to 15d")
    return now + window


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
