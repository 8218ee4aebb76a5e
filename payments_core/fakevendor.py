"""A fake vendor that behaves like a real one and can be told paid, unpaid, down or garbage.

Its notifications are HMAC-signed form bodies, so forged ones fail verification
exactly as a real vendor's would.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Final
from urllib.parse import parse_qsl, urlencode

from attrs import define

from payments_core.errors import SignatureInvalid, VendorDeclined, VendorError, VendorUnavailable
from payments_core.money import Money
from payments_core.ports import Clock
from payments_core.values import (
    Checkout,
    CheckoutRequest,
    NotificationOutcome,
    Reply,
    TradeReport,
    TradeStatus,
)

PROCESSED: Final = Reply(body="success", media_type="text/plain")
RESEND: Final = Reply(body="failure", media_type="text/plain")


class FakeMode(enum.Enum):
    """How the fake answers queries and closes."""

    NORMAL = "normal"
    DOWN = "down"  # every call raises VendorUnavailable
    GARBAGE = "garbage"  # every call raises VendorError, as for an unverifiable answer


@define
class _Trade:
    amount: Money
    expires_at: datetime
    status: TradeStatus = TradeStatus.UNPAID
    paid_amount: Money | None = None
    trade_id: str | None = None


class FakeVendor:
    """A VendorGateway for tests and examples; see the module docstring."""

    def __init__(self, name: str = "fake", *, clock: Clock | None = None) -> None:
        self._name = name
        self._clock = clock
        self._secret = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._trades: dict[str, _Trade] = {}
        self.mode = FakeMode.NORMAL
        self.queries = 0

    @property
    def name(self) -> str:
        """The vendor name."""
        return self._name

    def open_checkout(self, request: CheckoutRequest) -> Checkout:
        """Record the trade; the order string is a fake URL."""
        with self._lock:
            self._trades[request.reference] = _Trade(request.amount, request.expires_at)
        return Checkout(
            order_string=f"https://fake.invalid/pay?ref={request.reference}",
            expires_at=request.expires_at,
        )

    def query(self, reference: str) -> TradeReport:
        """What the fake knows of the trade; unknown trades are UNPAID."""
        self._fault()
        with self._lock:
            self.queries += 1
            trade = self._trades.get(reference)
            if trade is None:
                return TradeReport(vendor=self.name, reference=reference, status=TradeStatus.UNPAID)
            return self._report(reference, trade)

    def close_attempt(self, reference: str) -> None:
        """Close an unpaid trade. Raises: VendorDeclined for a paid one."""
        self._fault()
        with self._lock:
            trade = self._trades.get(reference)
            if trade is None:
                return
            if trade.status is TradeStatus.PAID:
                raise VendorDeclined(self.name, "TRADE_STATUS_ERROR", "the trade is paid")
            trade.status = TradeStatus.CLOSED

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> TradeReport:
        """Verify the HMAC and read the report. Raises: SignatureInvalid."""
        del headers  # the fake always sends a form body, signed within
        try:
            fields = dict(parse_qsl(body.decode(), strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            raise SignatureInvalid(self.name, "unreadable body") from None
        sign = fields.pop("sign", "")
        if not hmac.compare_digest(sign, self._sign(fields)):
            raise SignatureInvalid(self.name)
        try:
            return TradeReport(
                vendor=self.name,
                reference=fields["reference"],
                status=TradeStatus(fields["status"]),
                trade_id=fields.get("trade_id") or None,
                amount=Money.parse(fields["amount"]) if fields.get("amount") else None,
            )
        except (KeyError, ValueError) as exc:
            raise VendorError(self.name, "malformed", "notification fields are missing") from exc

    def reply(self, outcome: NotificationOutcome) -> Reply:
        """Plain-text ``success`` once applied, else ``failure`` (the fake then resends)."""
        return PROCESSED if outcome is NotificationOutcome.APPLIED else RESEND

    def pay(
        self, reference: str, *, amount: Money | None = None, trade_id: str | None = None
    ) -> bytes:
        """The buyer pays (``amount`` defaults to the trade's); returns the signed notification.

        ``trade_id`` (default: a new one) plays a vendor, or a forger who re-cut a genuine
        signed text, reporting a trade id that already paid another attempt.

        Raises:
            VendorDeclined: the trade is unknown, closed, or past its expiry.
        """
        with self._lock:
            trade = self._trades.get(reference)
            if trade is None or trade.status is TradeStatus.CLOSED:
                raise VendorDeclined(self.name, "TRADE_NOT_PAYABLE", "no open trade")
            if self._clock and self._clock.now() >= trade.expires_at:
                raise VendorDeclined(self.name, "TRADE_EXPIRED", "the trade has expired")
            if trade.status is not TradeStatus.PAID:
                trade.status = TradeStatus.PAID
                trade.paid_amount = amount or trade.amount
                trade.trade_id = trade_id or "T" + secrets.token_hex(8)
            return self._notification_body(reference, trade)

    def notification(self, reference: str, *, forged: bool = False) -> bytes:
        """The signed notification of the trade as it stands; ``forged`` breaks the signature."""
        with self._lock:
            body = self._notification_body(reference, self._trades[reference])
        return body.replace(b"sign=", b"sign=0") if forged else body

    def is_paid(self, reference: str) -> bool:
        """Whether the buyer paid this trade."""
        with self._lock:
            trade = self._trades.get(reference)
            return trade is not None and trade.status is TradeStatus.PAID

    def _report(self, reference: str, trade: _Trade) -> TradeReport:
        return TradeReport(
            vendor=self.name,
            reference=reference,
            status=trade.status,
            trade_id=trade.trade_id,
            amount=trade.paid_amount,
        )

    def _notification_body(self, reference: str, trade: _Trade) -> bytes:
        fields = {"reference": reference, "status": trade.status.value}
        if trade.paid_amount is not None:
            fields["amount"] = str(trade.paid_amount)
        if trade.trade_id:
            fields["trade_id"] = trade.trade_id
        fields["sign"] = self._sign(fields)
        return urlencode(fields).encode()

    def _sign(self, fields: dict[str, str]) -> str:
        canonical = "&".join(f"{k}={fields[k]}" for k in sorted(fields))
        return hmac.new(self._secret, canonical.encode(), hashlib.sha256).hexdigest()

    def _fault(self) -> None:
        if self.mode is FakeMode.DOWN:
            raise VendorUnavailable(self.name)
        if self.mode is FakeMode.GARBAGE:
            raise VendorError(self.name, "garbage", "the answer could not be verified")
