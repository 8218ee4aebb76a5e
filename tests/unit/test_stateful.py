"""Random interleavings of everything that can happen to payments, checked after every step.

Driven against the in-memory adapters and the fake vendor: creates, genuine,
duplicate, forged, late and wrong-amount notifications, notifications for old
attempts, verify calls, sweeps, retries, vendor outages and clock jumps.
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
from payments_core.payment import AttemptState, Payment, PaymentStatus
from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_core.services import PaymentService
from payments_core.sweep import sweep
from payments_core.values import Caller, Order

ORDERS = 4
BUYER = Caller(username="alice", roles={"CUSTOMER"})
SETTLED = {AttemptState.PAID, AttemptState.REJECTED, AttemptState.DUPLICATE}


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


class Payments(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FrozenClock()
        self.repo = InMemoryPaymentRepository()
        self.vendor = FakeVendor(clock=self.clock)
        self.hook = RecordingHook()
        pm = make_plugin_manager(load_entrypoints=False)
        pm.register(self.hook, name="recorder")
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
        attempt = payment.open_attempt()
        if attempt is None or self.vendor.is_paid(attempt.reference):
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
        report = sweep(self.service, batch_size=batch, concurrency=2, lease=timedelta(seconds=30))
        if self.vendor.mode is FakeMode.NORMAL:
            assert report.failed == 0

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
        """Once the vendor is healthy again, every genuinely paid attempt gets settled."""
        self.vendor.mode = FakeMode.NORMAL
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
