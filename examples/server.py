"""A team's own server with payments inside: the pieces composed by hand.

    python examples/server.py              # serve on 127.0.0.1:8000
    python examples/server.py --self-test  # create and pay one payment in-process, then exit

What a team typically brings: its own orders (here a dict-backed adapter of the
``Orders`` port), its own authentication (here a trusted header set by the team's
gateway, instead of the default JWT), and its own Starlette app that mounts payments
under a prefix and runs payments' background work (here the in-process sweeper) in its
own lifespan, since Starlette never runs a mounted app's. The vendors come from the installed plugins (configured with ALIPAY_*);
with none configured this example falls back to the core's FakeVendor.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import requests
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from payments_core.errors import OrderNotFound
from payments_core.fakevendor import FakeVendor
from payments_core.hookspecs import hookimpl
from payments_core.inmemory import SystemClock
from payments_core.outbox import OutboxRelay
from payments_core.payment import Payment, PaymentStatus
from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_core.services import PaymentService
from payments_core.values import Caller, Order
from payments_http import Sweeper, Unauthenticated, create_app, payments_lifespan
from payments_sqlstore import SqlPaymentRepository, ensure_schema


class ShopOrders:
    """The team's orders, behind the ``Orders`` port."""

    def __init__(self) -> None:
        self.orders = {
            "A-1": Order(id="A-1", buyer="carol", total=Decimal("42.00"), status="CREATED")
        }

    def get(self, order_id: str, *, caller: Caller) -> Order:
        order = self.orders.get(order_id)
        if order is None or order.buyer != caller.username:
            raise OrderNotFound(order_id)
        return order


class TrustedHeaders:
    """An ``Authenticator`` for an app behind the team's own API gateway, which has checked
    the user and put ``Gateway user;ROLE,ROLE`` in ``Authorization`` (never expose it directly).
    """

    def authenticate(self, authorization: str | None) -> Caller:
        if not authorization or not authorization.startswith("Gateway "):
            raise Unauthenticated()
        user, _, roles = authorization.removeprefix("Gateway ").partition(";")
        return Caller(username=user, roles=frozenset(filter(None, roles.split(","))))


class MarkOrderPaid:
    """A ``payments_status_changed`` hook: the team's order becomes PAID without polling."""

    def __init__(self, orders: ShopOrders) -> None:
        self._orders = orders

    @hookimpl
    def payments_status_changed(self, payment: Payment, current: PaymentStatus) -> None:
        if current is PaymentStatus.CONFIRMED:
            order = self._orders.orders[payment.order_id]
            self._orders.orders[order.id] = Order(
                id=order.id, buyer=order.buyer, total=order.total, status="PAID"
            )


def compose(database_url: str) -> tuple[Starlette, PaymentService, ShopOrders]:
    """The team's app with payments mounted under ``/shop``."""
    orders = ShopOrders()
    pm = make_plugin_manager()
    pm.register(MarkOrderPaid(orders), name="shop-orders")
    hooks = PaymentHooks(pm)
    vendors = dict(hooks.vendor_gateways(os.environ)) or {"fake": FakeVendor()}
    ensure_schema(database_url)  # or run `payments db upgrade` at deploy time
    repo = SqlPaymentRepository.from_url(database_url)
    clock = SystemClock()
    # Delivers each stored change to MarkOrderPaid before the request returns; for a thread
    # instead, add relay.in_background() to create_app's ``background``.
    relay = OutboxRelay(repo, repo, hooks, clock)
    service = PaymentService(
        repo=repo,
        vendors=vendors,
        orders=orders,
        clock=clock,
        default_vendor=next(iter(vendors)),
        announce=relay.wake,
    )

    async def shop_home(request: Request) -> JSONResponse:
        return JSONResponse({"orders": {k: o.status for k, o in orders.orders.items()}})

    # The sweeper asks the vendor about payments whose notification never came.
    payments = create_app(
        service, authenticator=TrustedHeaders(), background=[Sweeper(service, interval=60)]
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with payments_lifespan(payments):  # a mounted app's own lifespan never runs
            yield

    app = Starlette(routes=[Route("/", shop_home), Mount("/shop", app=payments)], lifespan=lifespan)
    return app, service, orders


@contextlib.contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """``app`` under uvicorn in a thread on a free port of 127.0.0.1, lifespan included."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise SystemExit("the example server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def self_test() -> int:
    """Create a payment over HTTP, pay it at the fake vendor, and see the order PAID.

    It needs only what ``pip install '.[server]'`` installs: uvicorn serves the app
    on a free local port and ``requests`` talks to it.
    """
    folder = tempfile.mkdtemp(prefix="payments-example-")
    app, service, orders = compose(f"sqlite:///{folder}/shop.db")
    vendor = service.vendors["fake"]
    if not isinstance(vendor, FakeVendor):
        raise SystemExit("the self-test runs without ALIPAY_* settings (on the FakeVendor)")
    headers = {"Authorization": "Gateway carol;CUSTOMER"}
    with serving(app) as base, requests.Session() as http:
        created = http.post(
            f"{base}/shop/api/v1/payments",
            json={"orderId": "A-1", "subject": "Mugs"},
            headers=headers,
            timeout=30,
        )
        payment = created.json()["data"]
        reference = payment["orderString"].rsplit("ref=", 1)[1]
        reply = http.post(
            f"{base}/shop/api/v1/payments/notify/fake", data=vendor.pay(reference), timeout=30
        )
        got = http.get(
            f"{base}/shop/api/v1/payments/{payment['id']}", headers=headers, timeout=30
        ).json()["data"]
    print(
        f"created {created.status_code}, notified {reply.text!r}, now {got['status']}, order {orders.orders['A-1'].status}"
    )
    return 0 if got["status"] == "CONFIRMED" and orders.orders["A-1"].status == "PAID" else 1


if __name__ == "__main__":
    if "--self-test" in sys.argv:
        sys.exit(self_test())
    application = compose("sqlite:///example-shop.db")[0]
    uvicorn.run(application, host="127.0.0.1", port=8000)
