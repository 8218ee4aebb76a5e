"""Random interleavings of everything that can happen to payments, checked after every step.

Driven against the in-memory adapters and the fake vendor: creates, genuine,
duplicate, forged, late and wrong-amount notifications, notifications for old
attempts, verify calls, sweeps, retries, vendor outages and clock jumps; refund
requests, charges taken twice (a second checkout of one payment paid too), refunds the
vendor holds and settles later, and refund notifications.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from payments_core.errors import PaymentsError, VendorDeclined
from payments_core.fakevendor import FakeMode, FakeVendor
from payments_core.hookspecs import hookimpl
from payments_core.inmemory import FrozenClock, InMemoryOrders, InMemoryPaymentRepository
from payments_core.money import Money
from payments_core.outbox import OutboxRelay
from payments_core.payment import REFUND_NEEDED, Attempt, AttemptState, Payment, PaymentStatus
from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_core.refund import Refund, RefundKind, RefundStatus
from payments_core.services import PaymentService
from payments_core.sweep import sweep
from payments_core.values import Caller, CheckoutRequest, Order

ORDERS = 4
BUYER = Caller(username="alice", roles={"CUSTOMER"})
OPERATOR = Caller(username="root", roles={"ADMIN"})
SETTLED = {AttemptState.PAID, AttemptState.REJECTED, AttemptState.DUPLICATE}
FORM = {"content-type": "application/x-www-form-urlencoded"}
LEASE = timedelta(seconds=30)


class RecordingHook:
    """A healthy status hook that remembers every change delivered to it."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, PaymentStatus | None, PaymentStatus]] = []

    @hookimpl
    def payments_status_changed(
        self, payment: Payment, previous: PaymentStatus | None, current: PaymentStatus
    ) -> None:
        assert payment.id is not None
        self.seen.append((payment.id, previous, current))


class RefundRecordingHook:
    """A healthy refund hook that remembers every refund change delivered to it."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, RefundStatus | None, RefundStatus]] = []

    @hookimpl
    def payments_refund_changed(
        self, refund: Refund, previous: RefundStatus | None, current: RefundStatus
    ) -> None:
        assert refund.id is not None
        self.seen.append((refund.id, previous, current))


class Payments(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FrozenClock()
        self.repo = InMemoryPaymentRepository()
        self.vendor = FakeVendor(clock=self.clock)
        self.hook = RecordingHook()
        pm = make_plugin_manager(load_entrypoints=False)
        pm.register(self.hook, name="recorder")
        self.refund_hook = RefundRecordingHook()
        pm.register(self.refund_hook, name="refund-recorder")
        orders = [
            Order(id=f"o{n}", buyer="alice", total=Decimal("10.00") + n, status="CREATED")
            for n in range(ORDERS)
        ]
        self.relay = OutboxRelay(self.repo, self.repo, PaymentHooks(pm), self.clock)
        self.service = PaymentService(
            repo=self.repo,
            vendors={"fake": self.vendor},
            orders=InMemoryOrders(orders),
            clock=self.clock,
            default_vendor="fake",
            announce=self.relay.wake,
        )
        self.ids: list[int] = []
        self.bodies: list[bytes] = []  # every genuine notification the vendor sent
        self.paid_right: set[str] = set()  # references paid in full
        self.paid_wrong: set[str] = set()  # references paid with another amount
        self.processed: set[str] = set()  # paid references whose notification was accepted
        self.confirmed_at: dict[int, object] = {}
        self.refund_bodies: list[bytes] = []  # every refund notification the vendor sent
        self.extra = itertools.count(1)

    # --- what happens -------------------------------------------------------

    @rule(order=st.integers(0, ORDERS - 1))
    def create(self, order: int) -> None:
        try:
            payment = self.service.create(BUYER, order_id=f"o{order}", subject="tea")
        except PaymentsError:
            return
        assert payment.id is not None
        if payment.id not in self.ids:
            self.ids.append(payment.id)

    @precondition(lambda self: self.ids)
    @rule(data=st.data(), right_amount=st.booleans())
    def buyer_pays(self, data: st.DataObject, right_amount: bool) -> None:
        payment = self.repo.get(data.draw(st.sampled_from(self.ids)))
        payable = [a for a in payment.attempts if a.is_open()]  # an older one may be paid too
        if not payable:
            return
        attempt = data.draw(st.sampled_from(payable))
        if self.vendor.is_paid(attempt.reference):
            return
        amount = None if right_amount else payment.amount + Money(1)
        try:
            body = self.vendor.pay(attempt.reference, amount=amount)
        except VendorDeclined:  # expired or closed at the vendor
            return
        self.bodies.append(body)
        (self.paid_right if right_amount else self.paid_wrong).add(attempt.reference)

    @precondition(lambda self: self.bodies)
    @rule(data=st.data())
    def vendor_notifies(self, data: st.DataObject) -> None:
        body = data.draw(st.sampled_from(self.bodies))  # duplicates, late ones, old attempts
        outcome = self.service.handle_notification(
            "fake", body, {"content-type": "application/x-www-form-urlencoded"}
        )
        reply = self.vendor.reply(outcome)
        if reply.body == "success":
            self.processed.add(self._reference(body))

    @precondition(lambda self: self.bodies)
    @rule(data=st.data())
    def forger_notifies(self, data: st.DataObject) -> None:
        reference = self._reference(data.draw(st.sampled_from(self.bodies)))
        forged = self.vendor.notification(reference, forged=True)

        reply = self.vendor.reply(
            self.service.handle_notification(
                "fake", forged, {"content-type": "application/x-www-form-urlencoded"}
            )
        )

        assert reply.body == "failure"

    @precondition(lambda self: self.ids)
    @rule(data=st.data())
    def buyer_verifies(self, data: st.DataObject) -> None:
        try:
            self.service.verify(BUYER, data.draw(st.sampled_from(self.ids)))
        except PaymentsError:
            assert self.vendor.mode is not FakeMode.NORMAL

    @precondition(lambda self: self.ids)
    @rule(data=st.data())
    def buyer_retries(self, data: st.DataObject) -> None:
        with contextlib.suppress(PaymentsError):
            self.service.retry(BUYER, data.draw(st.sampled_from(self.ids)))

    @rule(batch=st.integers(1, 3))
    def sweep(self, batch: int) -> None:
        report = sweep(self.service, batch_size=batch, concurrency=2, lease=LEASE)
        if self.vendor.mode is FakeMode.NORMAL:
            assert report.failed == 0
            assert report.refunds.errors == 0

    @precondition(lambda self: self.ids)
    @rule(data=st.data())
    def a_second_checkout_stays_payable(self, data: st.DataObject) -> None:
        """A second open attempt of one payment: a retry that lost a race with the buyer."""
        payment = self.repo.get(data.draw(st.sampled_from(self.ids)))
        if payment.status is PaymentStatus.INVALID:
            return
        now = self.clock.now()
        request = CheckoutRequest(
            reference=f"EXTRA{payment.id}x{next(self.extra)}",
            amount=payment.amount,
            subject=payment.subject,
            description=None,
            expires_at=now + timedelta(minutes=15),
        )
        checkout = self.vendor.open_checkout(request)
        extra = Attempt(
            reference=request.reference,
            order_string=checkout.order_string,
            opened_at=now,
            expires_at=checkout.expires_at,
        )
        with contextlib.suppress(PaymentsError):  # a concurrent change: skip this one
            self.repo.save(payment.with_attempt(extra, at=now), previous=payment)

    @precondition(lambda self: self.ids)
    @rule(data=st.data(), twice=st.booleans())
    def buyer_pays_and_the_vendor_notifies(self, data: st.DataObject, twice: bool) -> None:
        """Paying and being heard in one step, the common case; ``twice``: a second
        checkout of the same payment is paid as well (a charge taken twice)."""
        if twice:
            self.a_second_checkout_stays_payable(data)
        payment = self.repo.get(data.draw(st.sampled_from(self.ids)))
        for attempt in [a for a in payment.attempts if a.is_open()][-2:]:
            if self.vendor.is_paid(attempt.reference):
                continue
            try:
                body = self.vendor.pay(attempt.reference)
            except VendorDeclined:
                continue
            self.bodies.append(body)
            self.paid_right.add(attempt.reference)
            outcome = self.service.handle_notification("fake", body, FORM)
            if self.vendor.reply(outcome).body == "success":
                self.processed.add(attempt.reference)
            if not twice:
                return

    @precondition(lambda self: self.ids)
    @rule(data=st.data(), part=st.sampled_from([None, "0.01", "1.00", "5.00", "100.00"]))
    def operator_refunds(self, data: st.DataObject, part: str | None) -> None:
        confirmed = [p for p in self.ids if self.repo.get(p).status is PaymentStatus.CONFIRMED]
        payment = self.repo.get(data.draw(st.sampled_from(confirmed or self.ids)))
        amount = None if part is None else Decimal(part)
        try:
            refund = self.service.request_refund(OPERATOR, payment.id or 0, amount=amount)
        except PaymentsError:
            refund = None
        after = self.repo.get(payment.id or 0)
        assert (after.status, after.version) == (payment.status, payment.version)
        if refund is not None:
            assert refund.kind is RefundKind.REQUESTED
            assert payment.status is PaymentStatus.CONFIRMED

    @rule(hold=st.booleans())
    def vendor_holds_refunds(self, hold: bool) -> None:
        self.vendor.hold_refunds = hold

    @rule()
    def vendor_pays_out_held_refunds(self) -> None:
        self.refund_bodies.extend(self.vendor.settle_refunds())

    @precondition(lambda self: self.refund_bodies)
    @rule(data=st.data())
    def vendor_notifies_a_refund(self, data: st.DataObject) -> None:
        body = data.draw(st.sampled_from(self.refund_bodies))
        before = self._payments()

        outcome = self.service.handle_notification("fake", body, FORM)

        assert self.vendor.reply(outcome).body == "success"
        assert self._payments() == before

    @rule(minutes=st.integers(1, 20))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    @rule(mode=st.sampled_from(FakeMode))
    def vendor_changes_mood(self, mode: FakeMode) -> None:
        self.vendor.mode = mode

    # --- what must always hold ---------------------------------------------

    @invariant()
    def confirmed_iff_status_confirmed_and_only_on_genuine_evidence(self) -> None:
        for payment in self._payments():
            paid = [a for a in payment.attempts if a.state is AttemptState.PAID]
            assert (payment.status is PaymentStatus.CONFIRMED) == bool(paid)
            assert payment.valid == (payment.status is PaymentStatus.CONFIRMED)
            assert all(a.reference in self.paid_right for a in paid)
            assert len(paid) <= 1

    @invariant()
    def confirmed_at_never_changes(self) -> None:
        for payment in self._payments():
            if payment.confirmed_at is not None:
                first = self.confirmed_at.setdefault(payment.id or 0, payment.confirmed_at)
                assert payment.confirmed_at == first

    @invariant()
    def accepted_paid_attempts_are_never_lost(self) -> None:
        for payment in self._payments():
            for attempt in payment.attempts:
                if attempt.reference in self.processed:
                    assert attempt.state in SETTLED
                    assert payment.status in {PaymentStatus.CONFIRMED, PaymentStatus.INVALID}
                if attempt.reference in self.paid_wrong and attempt.state in SETTLED:
                    assert attempt.state is not AttemptState.PAID

    @invariant()
    def every_charge_to_give_back_has_its_refund_from_the_moment_it_is_recorded(self) -> None:
        for payment in self._payments():
            refunds = self.repo.refunds_for(payment.id or 0)
            for attempt in payment.attempts:
                given_back = [r for r in refunds if r.kind is not RefundKind.REQUESTED]
                mine = [r for r in given_back if r.attempt == attempt.reference]
                if attempt.state in REFUND_NEEDED:
                    (refund,) = mine
                    assert refund.amount == attempt.amount_paid
                    assert refund.kind.value == attempt.state.value
                else:
                    assert mine == []

    @invariant()
    def the_vendor_never_pays_out_more_than_was_charged_nor_one_reference_twice(self) -> None:
        references = [p[1] for p in self.vendor.payouts]
        assert len(references) == len(set(references))
        paid_out: dict[str, int] = {}
        for trade, _, amount in self.vendor.payouts:
            paid_out[trade] = paid_out.get(trade, 0) + amount.minor
        for payment in self._payments():
            for attempt in payment.attempts:
                out = paid_out.get(attempt.reference, 0)
                assert out == 0 or (attempt.amount_paid is not None)
                assert attempt.amount_paid is None or out <= attempt.amount_paid.minor

    @invariant()
    def a_refund_succeeds_here_only_when_the_vendor_paid_it_out(self) -> None:
        paid = {p[1]: p[2] for p in self.vendor.payouts}
        for payment in self._payments():
            for refund in self.repo.refunds_for(payment.id or 0):
                if refund.status is RefundStatus.SUCCEEDED:
                    assert paid[refund.reference] == refund.amount

    @invariant()
    def every_refund_change_is_delivered_exactly_once(self) -> None:
        self.relay.deliver()
        for payment in self._payments():
            for refund in self.repo.refunds_for(payment.id or 0):
                chain = [(p, c) for rid, p, c in self.refund_hook.seen if rid == refund.id]
                assert chain[0] == (None, RefundStatus.PENDING)
                assert len(chain) <= 2
                assert chain[-1][1] is refund.status

    @invariant()
    def every_status_change_is_announced_exactly_once(self) -> None:
        self.relay.deliver()
        assert self.repo.pending_changes(limit=1000) == []
        for pid in self.ids:
            chain = [(prev, cur) for seen_id, prev, cur in self.hook.seen if seen_id == pid]
            assert chain[0] == (None, PaymentStatus.PENDING)
            for (_, before), (after, _) in itertools.pairwise(chain):
                assert before == after
            assert chain[-1][1] is self.repo.get(pid).status

    def teardown(self) -> None:
        """Once the vendor is healthy again, every genuinely paid attempt gets settled,
        and every charge to give back is given back."""
        self.vendor.mode = FakeMode.NORMAL
        self.vendor.hold_refunds = False
        for body in self.bodies:
            reply = self.vendor.reply(
                self.service.handle_notification(
                    "fake", body, {"content-type": "application/x-www-form-urlencoded"}
                )
            )
            assert reply.body == "success"
        for payment in self._payments():
            for attempt in payment.attempts:
                if attempt.reference in self.paid_right | self.paid_wrong:
                    assert attempt.state in SETTLED
            if any(a.reference in self.paid_right for a in payment.attempts):
                assert payment.status is PaymentStatus.CONFIRMED or any(
                    a.state is AttemptState.REJECTED for a in payment.attempts
                )
        self.vendor.settle_refunds()
        self.clock.advance(LEASE * 2)  # past every claim the sweeps made
        sweep(self.service, lease=LEASE)
        for payment in self._payments():
            refunds = self.repo.refunds_for(payment.id or 0)
            assert all(r.status is not RefundStatus.PENDING for r in refunds)
            for attempt in payment.attempts:
                if attempt.state in REFUND_NEEDED:
                    (refund,) = [r for r in refunds if r.attempt == attempt.reference]
                    assert refund.status is RefundStatus.SUCCEEDED
                    assert self.vendor.refunded(attempt.reference) == attempt.amount_paid

    def _payments(self) -> list[Payment]:
        return [self.repo.get(pid) for pid in self.ids]

    def _reference(self, body: bytes) -> str:
        report = self.vendor.parse_notification(
            body, {"content-type": "application/x-www-form-urlencoded"}
        )
        assert report is not None
        return report.reference


Payments.TestCase.settings = settings(
    max_examples=500 if os.environ.get("CI") else 100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPayments = Payments.TestCase
