"""Embed only the core: in-memory adapters, a fake vendor, create -> pay -> notify -> CONFIRMED.

Run it with ``python examples/embed_core.py``; it prints the payment as JSON.
"""

from __future__ import annotations

from decimal import Decimal

from payments_core import (
    Caller,
    FakeVendor,
    InMemoryOrders,
    InMemoryPaymentRepository,
    Order,
    PaymentService,
    PaymentStatus,
    SystemClock,
    dumps,
    payment_json,
)


def main() -> None:
    """Pay one order end to end and print the confirmed payment."""
    vendor = FakeVendor()
    orders = InMemoryOrders(
        [Order(id="order-1", buyer="alice", total=Decimal("88.88"), status="CREATED")]
    )
    service = PaymentService(
        repo=InMemoryPaymentRepository(),
        vendors={vendor.name: vendor},
        orders=orders,
        clock=SystemClock(),
        default_vendor=vendor.name,
    )
    alice = Caller(username="alice", roles={"CUSTOMER"})

    payment = service.create(alice, order_id="order-1", subject="Two boxes of tea")
    print(f"open to pay: {payment.order_string}")
    notification = vendor.pay(payment.attempts[0].reference)  # the buyer pays; the vendor notifies
    reply = service.handle_notification(
        vendor.name, notification, "application/x-www-form-urlencoded"
    )

    confirmed = service.get(alice, payment.id or 0)
    if reply.body != "success" or confirmed.status is not PaymentStatus.CONFIRMED:
        raise SystemExit(f"payment was not confirmed: {confirmed.status.value}")
    print(dumps({"data": payment_json(confirmed)}).decode())


if __name__ == "__main__":
    main()
