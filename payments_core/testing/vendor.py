"""The contract of the ``VendorGateway`` port, and the ``Buyer`` a test pays through."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Protocol

from payments_core.errors import SignatureInvalid, VendorError
from payments_core.inmemory import FrozenClock
from payments_core.money import Money
from payments_core.ports import VendorGateway
from payments_core.testing._support import raises, unique
from payments_core.values import CheckoutRequest, NotificationOutcome, TradeStatus


class Buyer(Protocol):
    """A test's way to act as the buyer at the vendor under test."""

    def pay(self, reference: str) -> None:
        """Pay the attempt in full. Raises any exception when the vendor refuses."""
        ...

    def notification(self, reference: str) -> tuple[bytes, Mapping[str, str]]:
        """The genuine notification the vendor sends for a paid attempt: its body, and its
        headers with lowercase names (the content type, and any signature carried there)."""
        ...


class VendorContract:
    """What every VendorGateway does. Fixtures: ``vendor``, ``buyer`` (a Buyer) and ``clock``."""

    def _open(
        self, vendor: VendorGateway, clock: FrozenClock, amount: str = "88.88"
    ) -> CheckoutRequest:
        request = CheckoutRequest(
            reference=unique("C"),
            amount=Money.parse(amount),
            subject="Contract 测试",
            description="a contract test",
            expires_at=clock.now() + timedelta(minutes=15),
        )
        checkout = vendor.open_checkout(request)
        assert checkout.order_string
        assert checkout.expires_at <= request.expires_at
        return request

    def test_name_is_a_lowercase_word(self, vendor: VendorGateway) -> None:
        assert vendor.name.isidentifier()
        assert vendor.name == vendor.name.lower()

    def test_a_new_attempt_is_unpaid(self, vendor: VendorGateway, clock: FrozenClock) -> None:
        request = self._open(vendor, clock)

        report = vendor.query(request.reference)

        assert report.status is TradeStatus.UNPAID
        assert report.reference == request.reference
        assert report.vendor == vendor.name

    def test_an_unknown_attempt_is_unpaid(self, vendor: VendorGateway) -> None:
        assert vendor.query(unique("NEVER")).status is TradeStatus.UNPAID

    def test_a_paid_attempt_reports_amount_and_trade_id(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        request = self._open(vendor, clock, "1000.12")

        buyer.pay(request.reference)
        report = vendor.query(request.reference)

        assert report.status is TradeStatus.PAID
        assert report.amount == request.amount
        assert report.trade_id
        assert report.merchant_matches

    def test_a_closed_attempt_cannot_be_paid(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        request = self._open(vendor, clock)

        vendor.close_attempt(request.reference)

        with raises(Exception):
            buyer.pay(request.reference)
        assert vendor.query(request.reference).status is not TradeStatus.PAID

    def test_closing_an_unknown_attempt_succeeds(self, vendor: VendorGateway) -> None:
        vendor.close_attempt(unique("NEVER"))

    def test_closing_a_paid_attempt_is_refused(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        request = self._open(vendor, clock)
        buyer.pay(request.reference)

        with raises(VendorError):
            vendor.close_attempt(request.reference)

        assert vendor.query(request.reference).status is TradeStatus.PAID

    def test_a_genuine_notification_reports_the_payment(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        request = self._open(vendor, clock, "12.30")
        buyer.pay(request.reference)
        body, headers = buyer.notification(request.reference)

        report = vendor.parse_notification(body, headers)

        assert report is not None
        assert report.status is TradeStatus.PAID
        assert report.reference == request.reference
        assert report.amount == request.amount
        assert vendor.reply(NotificationOutcome.APPLIED) != vendor.reply(NotificationOutcome.RETRY)

    def test_every_outcome_has_a_reply_and_only_applied_says_processed(
        self, vendor: VendorGateway
    ) -> None:
        replies = {outcome: vendor.reply(outcome) for outcome in NotificationOutcome}

        processed = replies.pop(NotificationOutcome.APPLIED)
        assert processed not in replies.values()  # else a vendor would never resend

    def test_a_tampered_notification_is_refused(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        request = self._open(vendor, clock, "12.30")
        buyer.pay(request.reference)
        body, headers = buyer.notification(request.reference)
        tampered = body.replace(b"12.30", b"0.01")
        assert tampered != body

        with raises(SignatureInvalid):
            vendor.parse_notification(tampered, headers)

    def test_a_garbage_notification_is_a_vendor_error(self, vendor: VendorGateway) -> None:
        for garbage in (b"", b"\xff\xfe", b"a=1&b=2", b"{}", b"sign=abc"):
            with raises(VendorError):
                vendor.parse_notification(
                    garbage, {"content-type": "application/x-www-form-urlencoded"}
                )

    def test_amounts_are_exact(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        request = self._open(vendor, clock, "0.30")
        buyer.pay(request.reference)

        report = vendor.query(request.reference)

        assert report.amount is not None
        assert report.amount.to_decimal() == Decimal("0.30")
