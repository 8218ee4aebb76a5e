"""The payments app mounted in a team's Starlette app: background work, Location, OpenAPI.

Starlette never runs a mounted app's lifespan, so these drive the parent app only, as a
team's server would.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import anyio
import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from payments_core.fakevendor import FakeVendor
from payments_core.hookspecs import hookimpl
from payments_core.inmemory import InMemoryOrders
from payments_core.payment import Payment, PaymentStatus
from payments_core.plugins import PaymentsPluginManager, make_plugin_manager
from payments_core.values import Order, Settings
from payments_http import compose, payments_lifespan
from payments_http.auth import JwtAuthenticator
from tests.http.conftest import SECRET, bearer

Client = httpx.Client | TestClient  # Starlette's TestClient is built on another httpx
WAIT = 10.0  # seconds a background thread gets to act; it takes well under one


class Shop:
    """The team's plugin: the fake vendor, and a status hook noting what was delivered to it."""

    def __init__(self) -> None:
        self.vendor = FakeVendor()
        self.heard: list[tuple[int, PaymentStatus, str]] = []
        self.changed = threading.Condition()

    @hookimpl
    def payments_vendor_gateways(self, settings: Settings) -> list[FakeVendor]:
        del settings
        return [self.vendor]

    @hookimpl
    def payments_status_changed(self, payment: Payment, current: PaymentStatus) -> None:
        assert payment.id is not None
        with self.changed:
            self.heard.append((payment.id, current, threading.current_thread().name))
            self.changed.notify_all()

    def wait_for(self, payment_id: int, status: PaymentStatus) -> list[str]:
        """The threads that told of ``payment_id`` becoming ``status`` (empty after WAIT)."""

        def told() -> list[str]:
            return [t for pid, s, t in self.heard if pid == payment_id and s is status]

        with self.changed:
            self.changed.wait_for(told, WAIT)
            return told()


def _plugins(shop: Shop) -> PaymentsPluginManager:
    pm = make_plugin_manager(load_entrypoints=False)
    pm.register(shop, name="shop")
    return pm


def _payments_app(shop: Shop) -> Starlette:
    orders = InMemoryOrders(
        [Order(id=f"o{n}", buyer="alice", total=Decimal("1.00"), status="CREATED") for n in (1, 2)]
    )
    return compose.create_app_from_settings(
        {
            "PAYMENTS_DATABASE_URL": "memory://",
            "PAYMENTS_VENDOR": "fake",
            "PAYMENTS_RECONCILE_INTERVAL": "1",
        },
        plugin_manager=_plugins(shop),
        orders=orders,
        authenticator=JwtAuthenticator.from_secret(SECRET),
    )


def _parent(payments: Starlette, *, enters_ours: bool) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        del app
        if not enters_ours:
            yield
            return
        async with payments_lifespan(payments):
            yield

    return Starlette(routes=[Mount("/pay", app=payments)], lifespan=lifespan)


@pytest.fixture
def shop() -> Shop:
    return Shop()


@pytest.fixture
def payments(shop: Shop) -> Iterator[Starlette]:
    app = _payments_app(shop)
    yield app
    app.state.payments_background.stop()  # what a test started late, nobody else stops


def _create(client: Client, order_id: str, prefix: str = "/pay") -> tuple[int, str, str]:
    """Create through the mount: the payment's id, its Location and its reference."""
    created = client.post(
        f"{prefix}/api/v1/payments", json={"orderId": order_id, "subject": "Tea"}, headers=bearer()
    )
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    return data["id"], created.headers["location"], data["orderString"].rsplit("ref=", 1)[1]


def _pays_and_hears(client: Client, shop: Shop) -> None:
    """A notified payment is heard of from the delivery thread; an unnotified one is
    found paid by the in-process sweeper."""
    notified, location, reference = _create(client, "o1")
    assert location == f"/pay/api/v1/payments/{notified}"
    reply = client.post("/pay/api/v1/payments/notify/fake", content=shop.vendor.pay(reference))
    assert reply.text == "success"
    assert "payments-delivery" in shop.wait_for(notified, PaymentStatus.CONFIRMED)

    swept, _, silent_reference = _create(client, "o2")
    shop.vendor.pay(silent_reference)  # the buyer pays; the notification is lost
    assert shop.wait_for(swept, PaymentStatus.CONFIRMED), "the sweeper never confirmed it"
    assert client.get(f"/pay/api/v1/payments/{swept}", headers=bearer()).json()["data"][
        "status"
    ] == ("CONFIRMED")


def test_the_parents_lifespan_runs_delivery_and_sweeper_with_payments_lifespan(
    shop: Shop, payments: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), TestClient(_parent(payments, enters_ours=True)) as c:
        _pays_and_hears(c, shop)

    assert not [r for r in caplog.records if "payments_lifespan" in r.getMessage()]
    assert payments.state.payments_background.stopped  # the parent's shutdown stopped it


@contextlib.contextmanager
def _served(app: Starlette, *, root_path: str = "") -> Iterator[httpx.Client]:
    """``app`` served by uvicorn on 127.0.0.1 in a thread, for the ``with`` block only."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, root_path=root_path, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        assert server.started, "uvicorn did not start"
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with httpx.Client(base_url=base, timeout=WAIT) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(WAIT)
        sock.close()


def test_over_uvicorn_the_parents_lifespan_runs_our_work_and_stops_it(
    shop: Shop, payments: Starlette
) -> None:
    with _served(_parent(payments, enters_ours=True)) as client:
        _pays_and_hears(client, shop)
        assert client.get("/pay/openapi.json").json()["servers"] == [{"url": "/pay"}]

    assert payments.state.payments_background.stopped


def test_behind_a_proxy_that_strips_the_prefix_location_keeps_it(payments: Starlette) -> None:
    with _served(payments, root_path="/pay") as client:  # uvicorn --root-path /pay
        payment_id, location, _ = _create(client, "o1", prefix="")
        servers = client.get("/openapi.json").json()["servers"]

    assert location == f"/pay/api/v1/payments/{payment_id}"
    assert servers == [{"url": "/pay"}]


def test_a_mount_without_payments_lifespan_starts_its_work_on_the_first_request_and_warns(
    shop: Shop, payments: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), TestClient(_parent(payments, enters_ours=False)) as c:
        assert c.get("/pay/health").status_code == 200
        _pays_and_hears(c, shop)

    warnings = [r for r in caplog.records if "payments_lifespan" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING


def test_the_payments_app_served_alone_still_runs_its_own_lifespan(
    shop: Shop, payments: Starlette
) -> None:
    with TestClient(payments) as client:
        assert payments.state.payments_background.running
        assert client.get("/health").status_code == 200

    assert payments.state.payments_background.stopped


def test_payments_lifespan_inside_our_own_lifespan_stops_only_what_it_started(
    payments: Starlette,
) -> None:
    with TestClient(payments):

        async def nested() -> None:
            async with payments_lifespan(payments):
                pass

        anyio.run(nested)
        assert payments.state.payments_background.running


def test_payments_lifespan_refuses_an_app_that_is_not_ours() -> None:
    with pytest.raises(TypeError, match="create_app"):
        payments_lifespan(Starlette())


def test_location_and_openapi_name_the_mount_prefix(payments: Starlette) -> None:
    with TestClient(_parent(payments, enters_ours=True)) as client:
        payment_id, location, _ = _create(client, "o1")
        document = client.get("/pay/openapi.json").json()
        got = client.get(location, headers=bearer())

    assert location == f"/pay/api/v1/payments/{payment_id}"
    assert got.status_code == 200  # the Location leads to the payment
    assert document["servers"] == [{"url": "/pay"}]
    assert "/api/v1/payments/{id}" in document["paths"]  # paths stay relative to the server


def test_served_at_the_root_the_document_names_no_server(payments: Starlette) -> None:
    with TestClient(payments) as client:
        created = client.post(
            "/api/v1/payments", json={"orderId": "o1", "subject": "Tea"}, headers=bearer()
        )
        document = client.get("/openapi.json").json()

    assert created.headers["location"] == f"/api/v1/payments/{created.json()['data']['id']}"
    assert "servers" not in document


def test_the_app_can_be_served_again_after_its_lifespan_ended(
    shop: Shop, payments: Starlette
) -> None:
    with TestClient(payments):
        pass
    with TestClient(payments) as client:
        payment_id, _, reference = _create(client, "o1", prefix="")
        client.post("/api/v1/payments/notify/fake", content=shop.vendor.pay(reference))
        assert "payments-delivery" in shop.wait_for(payment_id, PaymentStatus.CONFIRMED)
