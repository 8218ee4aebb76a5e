"""A fake vendor that behaves like a real one and can be told paid, unpaid, down or garbage.

Its notifications are HMAC-signed form bodies, so forged ones fail verification
exactly as a real vendor's would. It refunds like a real vendor too: once per refund
reference, never more in all than was paid for the trade, and it keeps a ledger of what
it paid out (``payouts``) for tests to check.
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
    RefundReport,
    RefundState,
    Reply,
    TradeReport,
    TradeStatus,
)

PROCESSED: Final = Reply(body="success", media_type="text/plain")
RESEND: Final = Reply(body="failure", media_type="text/plain")


class FakeMode(enum.Enum):
    """How the fake answers queries, closes and refunds."""

    NORMAL = "normal"
    DOWN = "down"  # every call raises VendorUnavailable (a refund is not made)
    # Every call raises VendorError, as for an unverifiable answer; a refund is made
    # first, as when a real vendor's answer is lost on the way back.
    GARBAGE = "garbage"


REFUND_EXCEEDED: Final = "REFUND_AMT_EXCEEDED"
"""The fake's refusal of a refund larger than what is left of the trade."""
TRADE_NOT_PAID: Final = "TRADE_NOT_PAID"
"""The fake's refusal of a refund of a trade nobody paid."""


@define
class _Refund:
    reference: str  # the trade's
    amount: Money
    state: RefundState
    failure: str | None = None


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
        self._refunds: dict[str, _Refund] = {}  # by refund reference
        self.mode = FakeMode.NORMAL
        self.queries = 0
        self.hold_refunds = False  # True: refunds are accepted PENDING until ``settle_refunds``
        self.payouts: list[tuple[str, str, Money]] = []  # (trade, refund reference, amount)

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

    def refund(
        self, reference: str, refund_reference: str, amount: Money, reason: str | None
    ) -> RefundReport:
        """Refund ``amount`` of a paid trade, once per ``refund_reference``.

        A reference seen before answers what it did then, whatever the amount now. A
        refund over what is left of the trade, or of a trade nobody paid, is FAILED.
        """
        del reason  # kept by real vendors for their merchant consoles only
        if self.mode is FakeMode.DOWN:
            raise VendorUnavailable(self.name)
        with self._lock:
            known = self._refunds.get(refund_reference)
            if known is None:
                known = self._new_refund(reference, refund_reference, amount)
            report = self._refund_report(refund_reference, known)
        self._fault()  # GARBAGE: the refund was made, its answer is lost
        return report

    def query_refund(self, reference: str, refund_reference: str) -> RefundReport:
        """What the fake knows of one refund; NOT_FOUND for one it never took."""
        self._fault()
        with self._lock:
            known = self._refunds.get(refund_reference)
            if known is None or known.reference != reference:
                return RefundReport(
                    vendor=self.name,
                    reference=reference,
                    refund_reference=refund_reference,
                    state=RefundState.NOT_FOUND,
                )
            return self._refund_report(refund_reference, known)

    def settle_refunds(self) -> list[bytes]:
        """Pay out every PENDING refund; the signed notification of each."""
        with self._lock:
            bodies = []
            for refund_reference, refund in self._refunds.items():
                if refund.state is RefundState.PENDING:
                    self._pay_out(refund_reference, refund)
                    bodies.append(self._refund_body(refund_reference, refund))
            return bodies

    def refund_notification(self, refund_reference: str) -> bytes:
        """The signed notification of one refund as it stands."""
        with self._lock:
            return self._refund_body(refund_reference, self._refunds[refund_reference])

    def refunded(self, reference: str) -> Money:
        """What the fake paid back, in all, of the trade ``reference``."""
        with self._lock:
            return self._paid_back(reference)

    def parse_notification(
        self, body: bytes, headers: Mapping[str, str]
    ) -> TradeReport | RefundReport:
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
            if "refund_reference" in fields:
                return RefundReport(
                    vendor=self.name,
                    reference=fields["reference"],
                    refund_reference=fields["refund_reference"],
                    state=RefundState(fields["refund_state"]),
                    amount=Money.parse(fields["refund_amount"]),
                    failure=fields.get("failure") or None,
                )
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

    def _new_refund(self, reference: str, refund_reference: str, amount: Money) -> _Refund:
        trade = self._trades.get(reference)
        if trade is None or trade.status is not TradeStatus.PAID or trade.paid_amount is None:
            refund = _Refund(reference, amount, RefundState.FAILED, TRADE_NOT_PAID)
        elif (
            self._paid_back(reference, pending=True).minor + amount.minor > trade.paid_amount.minor
        ):
            refund = _Refund(reference, amount, RefundState.FAILED, REFUND_EXCEEDED)
        else:
            refund = _Refund(reference, amount, RefundState.PENDING)
            if not self.hold_refunds:
                self._pay_out(refund_reference, refund)
        self._refunds[refund_reference] = refund
        return refund

    def _pay_out(self, refund_reference: str, refund: _Refund) -> None:
        refund.state = RefundState.SUCCEEDED
        self.payouts.append((refund.reference, refund_reference, refund.amount))

    def _paid_back(self, reference: str, *, pending: bool = False) -> Money:
        """Refunded of ``reference``, with the PENDING refunds when ``pending``."""
        counted = (
            {RefundState.SUCCEEDED, RefundState.PENDING} if pending else {RefundState.SUCCEEDED}
        )
        minor = sum(
            r.amount.minor
            for r in self._refunds.values()
            if r.reference == reference and r.state in counted
        )
        trade = self._trades.get(reference)
        currency = trade.amount.currency if trade else "CNY"
        return Money(minor, currency)

    def _refund_report(self, refund_reference: str, refund: _Refund) -> RefundReport:
        return RefundReport(
            vendor=self.name,
            reference=refund.reference,
            refund_reference=refund_reference,
            state=refund.state,
            amount=refund.amount,
            failure=refund.failure,
        )

    def _refund_body(self, refund_reference: str, refund: _Refund) -> bytes:
        fields = {
            "reference": refund.reference,
            "refund_reference": refund_reference,
            "refund_state": refund.state.value,
            "refund_amount": str(refund.amount),
        }
        if refund.failure:
            fields["failure"] = refund.failure
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
