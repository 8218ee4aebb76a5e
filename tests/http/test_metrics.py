"""GET /metrics: the payments_... series, fed through the composition's seams."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.testclient import TestClient

from payments_core import ports
from payments_core.errors import StoreUnavailable
from payments_core.fakevendor import FakeMode, FakeVendor
from payments_core.hookspecs import hookimpl
from payments_core.inmemory import FrozenClock, InMemoryOrders
from payments_core.plugins import PaymentsPluginManager, make_plugin_manager
from payments_core.testing import unique
from payments_core.values import Caller, DueAttempt, Order, Settings
from payments_http import compose
from payments_http.metered import CountedRepository, CountedSweeper, TimedVendor
from payments_http.metrics import BACKLOG_CAP, UNMATCHED, Metrics, status_class
from tests.http.conftest import SECRET, bearer
from tests.http.test_payments_api import PAYMENTS, reference_of

ALICE = Caller(username="alice", roles={"CUSTOMER"})
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class FakeShop:
    """The fake vendor as a plugin, so that the server is composed from settings."""

    def __init__(self, vendor: FakeVendor) -> None:
        self.vendor = vendor

    @hookimpl
    def payments_vendor_gateways(self, settings: Settings) -> list[FakeVendor]:
        return [self.vendor]


def plugins(vendor: FakeVendor) -> PaymentsPluginManager:
    pm = make_plugin_manager(load_entrypoints=False)
    pm.register(FakeShop(vendor), name="fakeshop")
    return pm


SETTINGS = {
    "PAYMENTS_DATABASE_URL": "memory://",
    "PAYMENTS_VENDOR": "fake",
    "PAYMENTS_JWT_SECRET": SECRET,
    "PAYMENTS_RECONCILE_INTERVAL": "0",
}


def server(vendor: FakeVendor, orders: InMemoryOrders, **settings: str) -> Starlette:
    return compose.create_app_from_settings(
        SETTINGS | settings, plugin_manager=plugins(vendor), orders=orders
    )


@pytest.fixture
def vendor() -> FakeVendor:
    return FakeVendor()


@pytest.fixture
def orders() -> InMemoryOrders:
    return InMemoryOrders()


@pytest.fixture
def client(vendor: FakeVendor, orders: InMemoryOrders) -> Iterator[TestClient]:
    with TestClient(server(vendor, orders), raise_server_exceptions=False) as test_client:
        yield test_client


def place(orders: InMemoryOrders) -> Order:
    order = Order(id=unique("o-"), buyer="alice", total=Decimal("12.50"), status="CREATED")
    orders.put(order)
    return order


def samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(response.text)


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def create(client: TestClient, orders: InMemoryOrders) -> dict[str, object]:
    response = client.post(
        PAYMENTS, json={"orderId": place(orders).id, "subject": "Tea"}, headers=bearer()
    )
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def test_creates_and_status_changes_are_counted_by_vendor(
    client: TestClient, orders: InMemoryOrders, vendor: FakeVendor
) -> None:
    first = create(client, orders)
    create(client, orders)
    vendor.pay(reference_of(first))
    assert client.get(f"{PAYMENTS}/verify/{first['id']}", headers=bearer()).json() == {"data": True}

    found = scrape(client)

    assert value(found, "payments_created_total", vendor="fake") == 2
    confirmed = {"vendor": "fake", "from_status": "PENDING", "to_status": "CONFIRMED"}
    assert value(found, "payments_status_changes_total", **confirmed) == 1
    changes = [k for k in found if k[0] == "payments_status_changes_total"]
    assert changes == [("payments_status_changes_total", frozenset(confirmed.items()))]


def test_an_idempotent_replay_is_not_a_second_creation(
    client: TestClient, orders: InMemoryOrders
) -> None:
    body = {"orderId": place(orders).id, "subject": "Tea"}
    headers = {**bearer(), "Idempotency-Key": unique("k-")}
    for _ in range(3):
        assert client.post(PAYMENTS, json=body, headers=headers).status_code in (200, 201)

    assert value(scrape(client), "payments_created_total", vendor="fake") == 1


def test_notifications_are_counted_by_outcome(
    client: TestClient, orders: InMemoryOrders, vendor: FakeVendor
) -> None:
    reference = reference_of(create(client, orders))
    genuine = vendor.pay(reference)
    forged = vendor.notification(reference, forged=True)
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    for body in (genuine, genuine, forged):
        client.post(f"{PAYMENTS}/notify/fake", content=body, headers=form)
    client.post(f"{PAYMENTS}/notify/nobody", content=genuine, headers=form)  # no such vendor
    found = scrape(client)

    assert value(found, "payments_notifications_total", vendor="fake", outcome="processed") == 2
    assert value(found, "payments_notifications_total", vendor="fake", outcome="refused") == 1
    assert not any(dict(k[1]).get("vendor") == "nobody" for k in found)


def test_vendor_calls_are_timed_by_operation_and_outcome(
    client: TestClient, orders: InMemoryOrders, vendor: FakeVendor
) -> None:
    payment = create(client, orders)
    vendor.mode = FakeMode.DOWN
    client.get(f"{PAYMENTS}/verify/{payment['id']}", headers=bearer())
    found = scrape(client)

    opened = {"vendor": "fake", "operation": "open_checkout", "outcome": "ok"}
    down = {"vendor": "fake", "operation": "query", "outcome": "vendor_unavailable"}
    assert value(found, "payments_vendor_call_seconds_count", **opened) == 1
    assert value(found, "payments_vendor_call_seconds_count", **down) == 1
    assert value(found, "payments_vendor_call_seconds_bucket", **down, le="+Inf") == 1
    assert value(found, "payments_vendor_call_seconds_sum", **opened) > 0


def test_requests_are_counted_by_route_template_never_by_the_path_asked(
    client: TestClient, orders: InMemoryOrders
) -> None:
    payment = create(client, orders)
    client.get(f"{PAYMENTS}/{payment['id']}", headers=bearer())
    client.get(f"{PAYMENTS}/987654321", headers=bearer())
    client.get("/wp-admin/evil%0Aline", headers=bearer())
    client.delete(f"{PAYMENTS}/{payment['id']}")
    client.request("BREW", "/health")
    text = client.get("/metrics").text
    found = samples(text)

    by_id = {"route": f"{PAYMENTS}/{{id}}", "method": "GET"}
    assert value(found, "payments_http_requests_total", **by_id, status="2xx") == 1
    assert value(found, "payments_http_requests_total", **by_id, status="4xx") == 1
    assert value(found, "payments_http_requests_total", route=PAYMENTS, method="POST", status="2xx")
    unmatched = {"route": UNMATCHED, "method": "GET", "status": "4xx"}
    assert value(found, "payments_http_requests_total", **unmatched) == 1
    assert value(
        found, "payments_http_requests_total", route=by_id["route"], method="DELETE", status="4xx"
    )
    assert value(
        found, "payments_http_requests_total", route="/health", method="other", status="4xx"
    )
    assert "987654321" not in text
    assert "wp-admin" not in text
    assert "BREW" not in text


@pytest.mark.parametrize(
    ("status", "label"), [(200, "2xx"), (204, "2xx"), (503, "5xx"), (99, "other")]
)
def test_a_status_class_is_its_hundreds(status: int, label: str) -> None:
    assert status_class(status) == label


def test_the_outbox_backlog_is_read_when_scraped(
    vendor: FakeVendor, orders: InMemoryOrders
) -> None:
    app = server(vendor, orders)
    # No lifespan: status-change delivery never starts, so every change stays pending.
    client = TestClient(app, raise_server_exceptions=False)
    app.state.payments_background.start = lambda: False  # keep the first request from starting it
    try:
        create(client, orders)
        create(client, orders)
        found = scrape(client)
    finally:
        client.close()

    assert value(found, "payments_outbox_backlog") == 2


def test_the_backlog_gauge_is_left_out_while_the_store_is_down() -> None:
    class DownOutbox:
        def pending_changes(self, *, limit: int) -> list[object]:
            raise StoreUnavailable()

    metrics = Metrics()
    metrics.outbox = DownOutbox()  # type: ignore[assignment]  # only the method a scrape reads

    found = samples(metrics.exposition().decode())

    assert ("payments_outbox_backlog", frozenset()) not in found
    assert value(found, "payments_worker_processes") == 1


def test_the_backlog_is_counted_up_to_its_cap() -> None:
    asked: list[int] = []

    class FullOutbox:
        def pending_changes(self, *, limit: int) -> list[object]:
            asked.append(limit)
            return [object()] * limit

    metrics = Metrics()
    metrics.outbox = FullOutbox()  # type: ignore[assignment]  # only the method a scrape reads

    assert value(samples(metrics.exposition().decode()), "payments_outbox_backlog") == BACKLOG_CAP
    assert asked == [BACKLOG_CAP]


def test_sweeps_are_counted_with_the_attempts_they_claimed_and_failed(
    vendor: FakeVendor, orders: InMemoryOrders
) -> None:
    clock = FrozenClock()
    metrics = Metrics()
    service, _ = compose.build_service(
        SETTINGS, plugin_manager=plugins(vendor), orders=orders, clock=clock, metrics=metrics
    )
    for _ in range(3):
        service.create(ALICE, order_id=place(orders).id, subject="Tea")
    clock.advance(timedelta(hours=1))
    vendor.mode = FakeMode.DOWN
    sweeper = CountedSweeper(service, 60, metrics)

    report = sweeper.sweep_once()
    found = samples(metrics.exposition().decode())

    assert report is not None
    assert value(found, "payments_sweep_runs_total", outcome="completed") == 1
    assert value(found, "payments_sweep_attempts_claimed_total") == 3
    assert value(found, "payments_sweep_attempts_failed_total") == 3


def test_a_sweep_that_fails_is_counted_as_a_failed_run(vendor: FakeVendor) -> None:
    metrics = Metrics()
    service, _ = compose.build_service(SETTINGS, plugin_manager=plugins(vendor), metrics=metrics)

    def down(now: datetime, *, limit: int, lease: timedelta) -> list[DueAttempt]:
        raise StoreUnavailable()

    service.repo.claim_due = down  # type: ignore[method-assign]  # the store goes down

    assert CountedSweeper(service, 60, metrics).sweep_once() is None
    found = samples(metrics.exposition().decode())
    assert value(found, "payments_sweep_runs_total", outcome="failed") == 1
    assert value(found, "payments_sweep_runs_total", outcome="completed") == 0


def test_metrics_off_removes_the_endpoint_and_every_wrapper(
    vendor: FakeVendor, orders: InMemoryOrders
) -> None:
    app = server(vendor, orders, PAYMENTS_METRICS="off")
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/metrics")
        paths = client.get("/openapi.json").json()["paths"]

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "/metrics" not in paths
    service, _ = compose.build_service(
        SETTINGS | {"PAYMENTS_METRICS": "off"}, plugin_manager=plugins(vendor)
    )
    assert not isinstance(service.vendors["fake"], TimedVendor)
    assert not isinstance(service.repo, CountedRepository)


def test_metrics_on_is_described_in_the_openapi_document(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/metrics"]["get"]

    assert operation["security"] == []
    assert "text/plain" in operation["responses"]["200"]["content"]


@pytest.mark.parametrize("bad", ["yes", "0", "true"])
def test_payments_metrics_is_on_or_off(
    vendor: FakeVendor, orders: InMemoryOrders, bad: str
) -> None:
    with pytest.raises(ValueError, match=r"^PAYMENTS_METRICS must be on or off"):
        server(vendor, orders, PAYMENTS_METRICS=bad)


def test_the_timed_vendor_forwards_every_method_of_the_port_itself() -> None:
    port_methods = {
        name
        for name, member in vars(ports.VendorGateway).items()
        if not name.startswith("_") and (inspect.isfunction(member) or isinstance(member, property))
    }

    assert {"refund", "query_refund", "reply", "parse_notification"} <= port_methods
    assert port_methods <= set(vars(TimedVendor))


def test_the_timed_vendor_passes_on_other_attributes_and_errors(vendor: FakeVendor) -> None:
    metrics = Metrics()
    timed = TimedVendor(vendor, metrics)
    vendor.mode = FakeMode.GARBAGE

    with pytest.raises(Exception, match="could not be verified"):
        timed.query("nope")
    assert timed.mode is FakeMode.GARBAGE  # not a port method: the vendor's own
    found = samples(metrics.exposition().decode())
    garbage = {"vendor": "fake", "operation": "query", "outcome": "vendor_error"}
    assert value(found, "payments_vendor_call_seconds_count", **garbage) == 1


def test_the_document_with_metrics_is_valid_and_describes_every_route(client: TestClient) -> None:
    from openapi_spec_validator import validate
    from starlette.routing import Route

    document = client.get("/openapi.json").json()
    validate(document)
    app = client.app
    assert isinstance(app, Starlette)
    served = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route) and route.methods
        for method in route.methods - {"HEAD"}
    }
    described = {(path, method) for path, ops in document["paths"].items() for method in ops}
    undocumented_assets = {("/docs/start.js", "get"), ("/docs/{asset}", "get")}

    assert served - undocumented_assets == described
