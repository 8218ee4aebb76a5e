"""The contract of the ``VendorGateway`` port, and the ``Buyer`` a test pays through."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import ClassVar, Final, Protocol

from payments_core.errors import RefundNotSupported, SignatureInvalid, VendorError
from payments_core.inmemory import FrozenClock
from payments_core.money import Money
from payments_core.ports import VendorGateway
from payments_core.testing._support import raises, unique
from payments_core.values import (
    CheckoutRequest,
    NotificationOutcome,
    RefundReport,
    RefundState,
    TradeReport,
    TradeStatus,
)

_TAKEN: Final = frozenset({RefundState.PENDING, RefundState.SUCCEEDED})
"""What a vendor may answer for a refund it accepted: paid out now, or being paid out."""


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
    """What every VendorGateway does. Fixtures: ``vendor``, ``buyer`` (a Buyer) and ``clock``.

    A plugin whose vendor cannot refund sets ``can_refund = False`` in its subclass: the
    refund tests then check that ``refund`` and ``query_refund`` raise
    ``RefundNotSupported`` with a reason, instead of checking refunds.
    """

    can_refund: ClassVar[bool] = True

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

        assert isinstance(report, TradeReport)
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

    # --- refunds -------------------------------------------------------------

    def _paid(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock, amount: str
    ) -> CheckoutRequest | None:
        """A paid attempt of ``amount`` to refund; None once a non-refunding plugin is checked."""
        if not self.can_refund:
            self._check_refusal(vendor)
            return None
        request = self._open(vendor, clock, amount)
        buyer.pay(request.reference)
        return request

    def _check_refusal(self, vendor: VendorGateway) -> None:
        reference = unique("C")
        with raises(RefundNotSupported) as refused:
            vendor.refund(reference, unique("R"), Money.parse("1.00"), "contract")
        with raises(RefundNotSupported) as asked:
            vendor.query_refund(reference, unique("R"))
        for (error,) in (refused, asked):
            assert isinstance(error, RefundNotSupported)
            assert error.reason.strip(), "say why the vendor cannot refund"

    def _check_report(
        self, report: RefundReport, vendor: VendorGateway, reference: str, refund_reference: str
    ) -> None:
        assert report.vendor == vendor.name
        assert report.reference == reference
        assert report.refund_reference == refund_reference

    def test_partial_refunds_follow_each_other_until_nothing_is_left(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        request = self._paid(vendor, buyer, clock, "12.30")
        if request is None:
            return
        first, second = unique("R"), unique("R")

        one = vendor.refund(request.reference, first, Money.parse("5.00"), "partial")
        two = vendor.refund(request.reference, second, Money.parse("7.30"), None)

        assert one.state in _TAKEN
        assert two.state in _TAKEN
        self._check_report(one, vendor, request.reference, first)
        self._check_report(two, vendor, request.reference, second)
        assert one.amount in (None, Money.parse("5.00"))
        assert two.amount in (None, Money.parse("7.30"))

    def test_the_same_refund_reference_sent_twice_pays_out_once(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        request = self._paid(vendor, buyer, clock, "12.30")
        if request is None:
            return
        again = unique("R")
        vendor.refund(request.reference, again, Money.parse("10.00"), "first try")

        repeated = vendor.refund(request.reference, again, Money.parse("10.00"), "first try")
        # Paid out twice, 20.00 would have gone: the remaining 2.30 could not be refunded.
        rest = vendor.refund(request.reference, unique("R"), Money.parse("2.30"), None)

        assert repeated.state in _TAKEN
        self._check_report(repeated, vendor, request.reference, again)
        assert rest.state in _TAKEN

    def test_a_refund_over_what_is_left_is_failed_with_the_vendors_code(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        request = self._paid(vendor, buyer, clock, "12.30")
        if request is None:
            return
        taken = vendor.refund(request.reference, unique("R"), Money.parse("10.00"), None)
        too_much = unique("R")

        refused = vendor.refund(request.reference, too_much, Money.parse("2.31"), None)

        assert taken.state in _TAKEN
        assert refused.state is RefundState.FAILED
        assert refused.failure
        self._check_report(refused, vendor, request.reference, too_much)

    def test_a_refund_larger_than_the_charge_is_failed(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        request = self._paid(vendor, buyer, clock, "0.30")
        if request is None:
            return

        refused = vendor.refund(request.reference, unique("R"), Money.parse("0.31"), None)

        assert refused.state is RefundState.FAILED
        assert refused.failure

    def test_an_unknown_refund_is_not_found(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        request = self._paid(vendor, buyer, clock, "12.30")
        if request is None:
            return
        never = unique("R")

        report = vendor.query_refund(request.reference, never)

        assert report.state is RefundState.NOT_FOUND
        self._check_report(report, vendor, request.reference, never)

    def test_a_query_after_a_refund_reports_it_with_its_amount(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        request = self._paid(vendor, buyer, clock, "12.30")
        if request is None:
            return
        refund_reference = unique("R")
        vendor.refund(request.reference, refund_reference, Money.parse("3.21"), "query me")

        report = vendor.query_refund(request.reference, refund_reference)

        assert report.state in _TAKEN
        assert report.amount in (None, Money.parse("3.21"))
        self._check_report(report, vendor, request.reference, refund_reference)

    def test_a_refund_of_an_unpaid_attempt_is_failed(
        self, vendor: VendorGateway, buyer: Buyer, clock: FrozenClock
    ) -> None:
        if self._paid(vendor, buyer, clock, "1.00") is None:
            return
        request = self._open(vendor, clock, "12.30")

        refused = vendor.refund(request.reference, unique("R"), Money.parse("1.00"), None)

        assert refused.state is RefundState.FAILED
        assert refused.failure
