"""Embed only the core: in-memory adapters, a fake vendor, create -> pay -> notify -> CONFIRMED.

Run it with ``python examples/embed_core.py``; it prints each status change as the
plugins hear it, then the payment as JSON.
"""

from __future__ import annotations

from decimal import Decimal

from payments_core import (
    Caller,
    FakeVendor,
    InMemoryOrders,
    InMemoryPaymentRepository,
    Order,
    OutboxRelay,
    Payment,
    PaymentHooks,
    PaymentService,
    PaymentStatus,
    SystemClock,
    dumps,
    hookimpl,
    make_plugin_manager,
    payment_json,
)


class PrintChanges:
    """A ``payments_status_changed`` hook, where a shop would mark its order paid."""

    @hookimpl
    def payments_status_changed(
        self, payment: Payment, previous: PaymentStatus | None, current: PaymentStatus
    ) -> None:
        before = previous.value if previous else "new"
        print(f"payment {payment.id}: {before} -> {current.value}")


def compose(vendor: FakeVendor, orders: InMemoryOrders) -> PaymentService:
    """The service, with the relay that delivers each stored status change to the hooks."""
    plugins = make_plugin_manager(load_entrypoints=False)
    plugins.register(PrintChanges(), name="print-changes")
    repo = InMemoryPaymentRepository()
    clock = SystemClock()
    relay = OutboxRelay(repo, repo, PaymentHooks(plugins), clock)
    return PaymentService(
        repo=repo,
        vendors={vendor.name: vendor},
        orders=orders,
        clock=clock,
        default_vendor=vendor.name,
        announce=relay.wake,  # deliver right after each change is stored
    )


def main() -> None:
    """Pay one order end to end and print the confirmed payment."""
    vendor = FakeVendor()
    orders = InMemoryOrders(
        [Order(id="order-1", buyer="alice", total=Decimal("88.88"), status="CREATED")]
    )
    service = compose(vendor, orders)
    alice = Caller(username="alice", roles={"CUSTOMER"})

    payment = service.create(alice, order_id="order-1", subject="Two boxes of tea")
    print(f"open to pay: {payment.order_string}")
    notification = vendor.pay(payment.attempts[0].reference)  # the buyer pays; the vendor notifies
    outcome = service.handle_notification(
        vendor.name, notification, {"content-type": "application/x-www-form-urlencoded"}
    )
    reply = vendor.reply(outcome)  # what the vendor reads, in its own format

    confirmed = service.get(alice, payment.id or 0)
    if reply.body != "success" or confirmed.status is not PaymentStatus.CONFIRMED:
        raise SystemExit(f"payment was not confirmed: {confirmed.status.value}")
    print(dumps({"data": payment_json(confirmed)}).decode())


if __name__ == "__main__":
    main()
