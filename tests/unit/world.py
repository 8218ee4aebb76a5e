"""The core composed on its in-memory adapters and the fake vendor, for use-case tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

from attrs import frozen

from payments_core.fakevendor import FakeVendor
from payments_core.hookspecs import hookimpl
from payments_core.inmemory import FrozenClock, InMemoryOrders, InMemoryPaymentRepository
from payments_core.money import Money
from payments_core.outbox import OutboxRelay
from payments_core.payment import Attempt, AttemptState, Payment, PaymentStatus
from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_core.services import PaymentService
from payments_core.values import Caller, CheckoutRequest, NotificationOutcome, Order, StatusChange
from payments_http.routes import notification_status

ALICE = Caller(username="alice", roles={"CUSTOMER"})
BOB = Caller(username="bob", roles={"CUSTOMER"})
ADMIN = Caller(username="root", roles={"ADMIN"})
FORM = {"content-type": "application/x-www-form-urlencoded"}
TTL = timedelta(minutes=15)
Event = tuple[int, PaymentStatus | None, PaymentStatus]

_order_ids = itertools.count(1)


class RecordingHook:
    """A healthy ``payments_status_changed`` plugin remembering every change delivered to it."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def payments_status_changed(
        self, payment: Payment, previous: PaymentStatus | None, current: PaymentStatus
    ) -> None:
        assert payment.id is not None
        self.events.append((payment.id, previous, current))


@frozen(kw_only=True)
class Answer:
    """What the vendor gets back: the core's outcome in the vendor's words, with its status."""

    outcome: NotificationOutcome
    body: str
    media_type: str | None
    status_code: int


class World:
    """One core wired to fresh in-memory adapters; ``hook`` hears every status change.

    The service announces through ``relay``, which delivers inline (no background thread).
    """

    def __init__(
        self,
        repo: InMemoryPaymentRepository | None = None,
        *,
        vendor_class: type[FakeVendor] = FakeVendor,
    ) -> None:
        self.clock = FrozenClock()
        self.repo = repo or InMemoryPaymentRepository()
        self.orders = InMemoryOrders()
        self.vendor = vendor_class("fake", clock=self.clock)
        self.hook = RecordingHook()
        self.pm = make_plugin_manager(load_entrypoints=False)
        self.pm.register(self.hook, name="recorder")
        self.hooks = PaymentHooks(self.pm)
        self.relay = OutboxRelay(self.repo, self.repo, self.hooks, self.clock)
        self.service = PaymentService(
            repo=self.repo,
            vendors={"fake": self.vendor},
            orders=self.orders,
            clock=self.clock,
            default_vendor="fake",
            checkout_ttl=TTL,
            announce=self.relay.wake,
        )

    def order(self, *, buyer: str = "alice", total: str = "88.88", status: str = "CREATED") -> str:
        """A new order in the order book; returns its id."""
        order_id = f"order-{next(_order_ids)}"
        self.orders.put(Order(id=order_id, buyer=buyer, total=Decimal(total), status=status))
        return order_id

    def create(self, caller: Caller = ALICE, *, total: str = "88.88") -> Payment:
        """A new PENDING payment of a new order of ``caller``."""
        order_id = self.order(buyer=caller.username, total=total)
        return self.service.create(caller, order_id=order_id, subject="Tea")

    def stored(self, payment: Payment) -> Payment:
        """The payment as the repository holds it now."""
        assert payment.id is not None
        return self.repo.get(payment.id)

    def reference(self, payment: Payment) -> str:
        """The reference of the payment's open attempt."""
        attempt = self.stored(payment).open_attempt()
        assert attempt is not None
        return attempt.reference

    def state(self, payment: Payment, reference: str) -> AttemptState:
        """The stored state of one attempt of the payment."""
        attempt = self.stored(payment).attempt(reference)
        assert attempt is not None
        return attempt.state

    def pay(self, payment: Payment, *, amount: str | None = None) -> bytes:
        """The buyer pays the open attempt at the vendor; returns the vendor's notification."""
        paid = Money.parse(amount) if amount else None
        return self.vendor.pay(self.reference(payment), amount=paid)

    def notify(self, body: bytes) -> Answer:
        """The vendor's notification arrives; the answer is what the HTTP adapter sends."""
        outcome = self.service.handle_notification("fake", body, FORM)
        reply = self.vendor.reply(outcome)
        return Answer(
            outcome=outcome,
            body=reply.body,
            media_type=reply.media_type,
            status_code=notification_status(outcome, reply),
        )

    def events_of(self, payment: Payment) -> list[Event]:
        """The status changes the healthy hook heard for this payment."""
        return [e for e in self.hook.events if e[0] == payment.id]

    def changes_of(self, payment: Payment) -> list[StatusChange]:
        """Every status change stored for this payment (the hooks may have seen them)."""
        pending = self.repo.pending_changes(limit=10_000)
        return [c for c in pending if c.payment_id == payment.id]

    def open_second_attempt(self, payment: Payment) -> str:
        """A second payable attempt at the vendor, as when a retry lost a race with the buyer.

        The fake vendor refuses to pay a trade it closed, so the only way to have two
        paid attempts of one payment is two open ones; this stores that state directly.
        """
        current = self.stored(payment)
        now = self.clock.now()
        request = CheckoutRequest(
            reference=f"EXTRA{current.id}x{len(current.attempts)}",
            amount=current.amount,
            subject=current.subject,
            description=None,
            expires_at=now + TTL,
        )
        checkout = self.vendor.open_checkout(request)
        attempt = Attempt(
            reference=request.reference,
            order_string=checkout.order_string,
            opened_at=now,
            expires_at=checkout.expires_at,
        )
        self.repo.save(current.with_attempt(attempt, at=now), previous=current)
        return request.reference

    def time_out_without_closing(self, payment: Payment) -> str:
        """TIMEOUT stored while the vendor trade stays payable (its close lost a race).

        Returns the reference of the attempt the buyer can still pay.
        """
        current = self.stored(payment)
        reference = self.reference(current)
        closed = current.close_attempt(reference, at=self.clock.now())
        self.repo.save(
            closed.transition(PaymentStatus.TIMEOUT, at=self.clock.now()), previous=current
        )
        return reference


@contextmanager
def registered(world: World, plugin: object, name: str) -> Iterator[None]:
    """``plugin`` registered on the world's plugin manager for the block."""
    world.pm.register(plugin, name=name)
    try:
        yield
    finally:
        world.pm.unregister(name=name)
