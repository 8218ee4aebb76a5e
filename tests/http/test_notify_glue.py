"""``handle_notification_http`` for any framework's route, and ``PAYMENTS_NOTIFY_PATH``."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from payments_alipay.settings import AlipaySettings
from payments_core.fakevendor import FakeVendor
from payments_core.hookspecs import hookimpl
from payments_core.inmemory import InMemoryOrders
from payments_core.payment import PaymentStatus
from payments_core.plugins import make_plugin_manager
from payments_core.services import PaymentService
from payments_core.values import Caller, Order, Settings
from payments_http import compose, openapi
from payments_http.auth import JwtAuthenticator
from payments_http.notify import MAX_NOTIFICATION, handle_notification_http, notify_path
from payments_http.settings import check, effective
from tests.alipay.test_alipay_configuration import full_settings
from tests.http.conftest import SECRET

ALICE = Caller(username="alice", roles={"CUSTOMER"})
FORM = "application/x-www-form-urlencoded"
FORM_HEADERS = {"content-type": FORM}


def _paid_notification(service: PaymentService, vendor: FakeVendor, order: Order) -> bytes:
    payment = service.create(ALICE, order_id=order.id, subject="Tea")
    return vendor.pay(payment.attempts[0].reference)


def test_a_genuine_notification_is_200_with_the_vendors_reply(
    service: PaymentService, vendor: FakeVendor, order: Order
) -> None:
    body = _paid_notification(service, vendor, order)

    answer = handle_notification_http(service, "fake", body, FORM_HEADERS)

    assert (answer.status, answer.body) == (200, b"success")
    assert answer.headers["Content-Type"].startswith("text/plain")
    stored = service.repo.find_for_order(order.id)
    assert stored is not None
    assert stored.status is PaymentStatus.CONFIRMED


def test_a_forged_notification_is_400_with_the_vendors_reply(
    service: PaymentService, vendor: FakeVendor, order: Order
) -> None:
    body = _paid_notification(service, vendor, order)

    answer = handle_notification_http(
        service, "fake", body.replace(b"sign=", b"sign=0"), FORM_HEADERS
    )

    assert answer.status == 400
    assert answer.body != b"success"


def test_an_unknown_vendor_is_404_as_our_error_body(service: PaymentService) -> None:
    answer = handle_notification_http(service, "nobody", b"a=1", FORM_HEADERS)

    assert answer.status == 404
    assert answer.headers["Content-Type"] == "application/json"
    assert json.loads(answer.body)["error"]["code"] == "vendor_not_found"


def test_a_body_over_the_limit_is_413_and_never_parsed(service: PaymentService) -> None:
    answer = handle_notification_http(service, "fake", b"a" * (MAX_NOTIFICATION + 1), FORM_HEADERS)

    assert answer.status == 413
    assert json.loads(answer.body)["error"]["code"] == "payload_too_large"


def test_our_route_answers_what_the_handler_answers(
    client: TestClient, service: PaymentService, vendor: FakeVendor, order: Order
) -> None:
    body = _paid_notification(service, vendor, order)
    expected = handle_notification_http(service, "fake", body, FORM_HEADERS)  # applies it

    response = client.post(
        "/api/v1/payments/notify/fake", content=body, headers={"Content-Type": FORM}
    )

    assert response.status_code == expected.status
    assert response.content == expected.body
    assert response.headers["content-type"] == expected.headers["Content-Type"]


class _Vendor:
    def __init__(self, vendor: FakeVendor) -> None:
        self.vendor = vendor

    @hookimpl
    def payments_vendor_gateways(self, settings: Settings) -> list[FakeVendor]:
        del settings
        return [self.vendor]


def test_the_app_serves_notifications_at_payments_notify_path_only() -> None:
    vendor = FakeVendor()
    plugins = make_plugin_manager(load_entrypoints=False)
    plugins.register(_Vendor(vendor), name="fake-vendor")
    orders = InMemoryOrders(
        [Order(id="o1", buyer="alice", total=Decimal("1.00"), status="CREATED")]
    )
    app = compose.create_app_from_settings(
        {
            "PAYMENTS_DATABASE_URL": "memory://",
            "PAYMENTS_VENDOR": "fake",
            "PAYMENTS_RECONCILE_INTERVAL": "0",
            "PAYMENTS_NOTIFY_PATH": "/hooks/{vendor}/in",
        },
        plugin_manager=plugins,
        orders=orders,
        authenticator=JwtAuthenticator.from_secret(SECRET),
    )

    with TestClient(app, raise_server_exceptions=False) as client:
        moved = client.post("/hooks/nobody/in", content=b"a=1")
        old = client.post("/api/v1/payments/notify/nobody", content=b"a=1")
        document = client.get("/openapi.json").json()

    assert moved.json()["error"]["code"] == "vendor_not_found"
    assert old.json()["error"]["code"] == "not_found"
    assert "/hooks/{vendor}/in" in document["paths"]
    assert "/api/v1/payments/notify/{vendor}" not in document["paths"]


def test_the_default_notify_path_is_the_documented_one() -> None:
    assert notify_path({}) == "/api/v1/payments/notify/{vendor}"
    assert "/api/v1/payments/notify/{vendor}" in openapi.document()["paths"]


def test_alipays_notify_url_follows_payments_notify_path() -> None:
    settings = full_settings(
        PAYMENTS_PUBLIC_URL="https://shop.example/pay", PAYMENTS_NOTIFY_PATH="/hooks/{vendor}/in"
    )

    url = AlipaySettings.from_settings(settings).notify_url

    assert url == "https://shop.example/pay/hooks/alipay/in"


@pytest.mark.parametrize(
    "path",
    ["hooks/{vendor}", "/hooks", "/hooks/{vendor}/{vendor}", "/hooks/x{vendor}", "/a?b={vendor}"],
)
def test_an_unusable_notify_path_names_the_setting(path: str) -> None:
    with pytest.raises(ValueError, match="PAYMENTS_NOTIFY_PATH"):
        check(effective({"PAYMENTS_NOTIFY_PATH": path}, {}))


def test_alipay_refuses_a_notify_path_without_its_vendor() -> None:
    with pytest.raises(ValueError, match="PAYMENTS_NOTIFY_PATH"):
        AlipaySettings.from_settings(full_settings(PAYMENTS_NOTIFY_PATH="/hooks"))
