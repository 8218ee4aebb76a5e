"""ExamplePayGateway: the ``VendorGateway`` port for a toy vendor with an in-process ledger.

ExamplePay's notification protocol puts its verdict in the status line: an empty 204
once a notification is taken in, a JSON ``{"code": "FAIL", ...}`` with a 5xx to have
it resent, or a 4xx for one that did not verify. Its replies say so themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode

from payments_core.errors import SignatureInvalid, VendorDeclined, VendorError
from payments_core.money import Money
from payments_core.values import (
    Checkout,
    CheckoutRequest,
    NotificationOutcome,
    Reply,
    TradeReport,
    TradeStatus,
)

FORM = "application/x-www-form-urlencoded"
_FAIL = {
    NotificationOutcome.RETRY: (503, "not taken in now: send it again later"),
    NotificationOutcome.REFUSED: (401, "the signature does not verify"),
}


class Ledger:
    """ExamplePay's side of the world: trades by reference. A real vendor is remote."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.trades: dict[str, dict[str, str]] = {}


class ExamplePayGateway:
    """Opens checkouts, answers queries and closes, and verifies HMAC-signed notifications."""

    def __init__(self, secret: bytes, ledger: Ledger | None = None) -> None:
        self._secret = secret
        self.ledger = ledger or Ledger()

    @property
    def name(self) -> str:
        """``examplepay``."""
        return "examplepay"

    def open_checkout(self, request: CheckoutRequest) -> Checkout:
        """Record the trade; the buyer pays at the returned URL."""
        with self.ledger.lock:
            self.ledger.trades[request.reference] = {
                "reference": request.reference,
                "status": TradeStatus.UNPAID.value,
                "amount": str(request.amount),
            }
        return Checkout(
            order_string=f"https://pay.example.invalid/checkout/{request.reference}",
            expires_at=request.expires_at,
        )

    def query(self, reference: str) -> TradeReport:
        """What ExamplePay knows; an unknown trade is UNPAID."""
        with self.ledger.lock:
            trade = dict(self.ledger.trades.get(reference, {}))
        if not trade:
            return TradeReport(vendor=self.name, reference=reference, status=TradeStatus.UNPAID)
        return self._report(trade)

    def close_attempt(self, reference: str) -> None:
        """Close an unpaid trade. Raises: VendorDeclined when it is paid."""
        with self.ledger.lock:
            trade = self.ledger.trades.get(reference)
            if trade is None:
                return
            if trade["status"] == TradeStatus.PAID.value:
                raise VendorDeclined(self.name, "PAID", "the trade is paid")
            trade["status"] = TradeStatus.CLOSED.value

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> TradeReport:
        """Verify the signature and read the trade. Raises: SignatureInvalid, VendorError."""
        del headers  # the signature travels in the body
        try:
            fields = dict(parse_qsl(body.decode(), strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            raise VendorError(self.name, "malformed", "the notification is not a form") from None
        signature = fields.pop("signature", "")
        if not hmac.compare_digest(signature, self.sign(fields)):
            raise SignatureInvalid(self.name)
        if "reference" not in fields or "status" not in fields:
            raise VendorError(self.name, "malformed", "fields are missing")
        return self._report(fields)

    def reply(self, outcome: NotificationOutcome) -> Reply:
        """An empty 204 once applied; otherwise ``{"code": "FAIL", "message": ...}``."""
        if outcome is NotificationOutcome.APPLIED:
            return Reply(status=204)
        status, message = _FAIL[outcome]
        body = json.dumps({"code": "FAIL", "message": message})
        return Reply(body=body, media_type="application/json", status=status)

    def sign(self, fields: dict[str, str]) -> str:
        """The HMAC-SHA256 of the sorted fields."""
        canonical = "&".join(f"{k}={fields[k]}" for k in sorted(fields))
        return hmac.new(self._secret, canonical.encode(), hashlib.sha256).hexdigest()

    # The buyer's side, for demos and tests: ExamplePay takes the money and notifies.
    def buyer_pays(self, reference: str) -> bytes:
        """Mark the trade paid and return the signed notification body ExamplePay would send.

        Raises: VendorDeclined when the trade is unknown or closed.
        """
        with self.ledger.lock:
            trade = self.ledger.trades.get(reference)
            if trade is None or trade["status"] == TradeStatus.CLOSED.value:
                raise VendorDeclined(self.name, "NOT_PAYABLE", "no open trade")
            trade["status"] = TradeStatus.PAID.value
            trade.setdefault("trade_id", "EX" + secrets.token_hex(6))
            fields = dict(trade)
        return urlencode({**fields, "signature": self.sign(fields)}).encode()

    def _report(self, trade: dict[str, str]) -> TradeReport:
        try:
            status = TradeStatus(trade["status"])
            amount = Money.parse(trade["amount"]) if status is TradeStatus.PAID else None
        except (KeyError, ValueError) as exc:
            raise VendorError(self.name, "malformed", "unreadable trade") from exc
        return TradeReport(
            vendor=self.name,
            reference=trade["reference"],
            status=status,
            trade_id=trade.get("trade_id"),
            amount=amount,
        )
