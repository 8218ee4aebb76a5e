"""GET /api/v1/payments, /{id}/attempts and /{id}/events, and the vendor of a new payment."""

from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from starlette.testclient import TestClient

from payments_core.fakevendor import FakeVendor
from payments_core.inmemory import FrozenClock, InMemoryOrders
from payments_core.listing import PaymentQuery, encode_cursor
from payments_core.payment import PaymentStatus
from payments_core.services import PaymentService
from payments_core.testing import unique
from payments_core.values import Order
from tests.http.conftest import bearer
from tests.http.test_payments_api import PAYMENTS, reference_of

ADMIN = bearer("root", ["ADMIN"])
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _order(orders: InMemoryOrders, buyer: str = "alice") -> Order:
    placed = Order(id=unique("order-"), buyer=buyer, total=Decimal("12.30"), status="CREATED")
    orders.put(placed)
    return placed


def _create(
    client: TestClient, orders: InMemoryOrders, buyer: str = "alice", **body: object
) -> dict[str, Any]:
    order = _order(orders, buyer)
    response = client.post(
        PAYMENTS, json={"orderId": order.id, "subject": "Tea", **body}, headers=bearer(buyer)
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["data"]
    return created


def _list(client: TestClient, headers: dict[str, str], **params: str | int) -> dict[str, Any]:
    response = client.get(PAYMENTS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def _ids(page: dict[str, Any]) -> list[int]:
    return [p["id"] for p in page["data"]]


def _error(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


@pytest.mark.parametrize("path", [PAYMENTS, f"{PAYMENTS}/1/attempts", f"{PAYMENTS}/1/events"])
def test_every_listing_needs_a_token(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 401
    assert _error(response)["code"] == "unauthenticated"


def test_a_page_is_the_data_envelope_with_next(client: TestClient, orders: InMemoryOrders) -> None:
    made = [_create(client, orders) for _ in range(3)]

    response = client.get(PAYMENTS, params={"limit": 2}, headers=bearer())

    assert response.status_code == 200
    page = response.json()
    assert list(page) == ["data", "next"]
    assert page["data"] == [made[2], made[1]]
    rest = _list(client, bearer(), limit=2, cursor=page["next"])
    assert rest == {"data": [made[0]], "next": None}


def test_a_customer_lists_only_their_own_even_naming_another_payer(
    client: TestClient, orders: InMemoryOrders
) -> None:
    mine = _create(client, orders, "alice")
    _create(client, orders, "bob")

    for params in ({}, {"payer": "bob"}, {"payer": "alice"}):
        assert _ids(_list(client, bearer("alice"), **params)) == [mine["id"]]


def test_an_admin_lists_everyone_and_filters_by_payer(
    client: TestClient, orders: InMemoryOrders
) -> None:
    a = _create(client, orders, "alice")
    b = _create(client, orders, "bob")

    assert _ids(_list(client, ADMIN)) == [b["id"], a["id"]]
    assert _ids(_list(client, ADMIN, payer="bob")) == [b["id"]]


def test_an_admins_cursor_does_not_open_other_payments_to_a_customer(
    client: TestClient, orders: InMemoryOrders
) -> None:
    for _ in range(3):
        _create(client, orders, "bob")
    _create(client, orders, "alice")
    admins = _list(client, ADMIN, limit=1)
    forged = encode_cursor(PaymentQuery(limit=1, payer="bob"), 10**6)

    for cursor in (admins["next"], forged):
        response = client.get(PAYMENTS, params={"cursor": cursor}, headers=bearer("alice"))
        assert response.status_code == 422
        assert _error(response) == {
            "code": "validation_error",
            "message": "cursor: was made for other filters, or altered",
            "field": "cursor",
        }


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        base64.urlsafe_b64encode(b'{"v":1,"id":1}').decode(),
        base64.urlsafe_b64encode(b'{"v":1,"id":-4,"f":"0"}').decode(),
        "x" * 500,
    ],
)
def test_a_tampered_cursor_is_422(client: TestClient, cursor: str) -> None:
    response = client.get(PAYMENTS, params={"cursor": cursor}, headers=bearer())

    assert response.status_code == 422
    assert _error(response)["field"] == "cursor"


def test_a_cursor_with_one_character_changed_is_refused(
    client: TestClient, orders: InMemoryOrders
) -> None:
    for _ in range(3):
        _create(client, orders)
    cursor = _list(client, bearer(), limit=1)["next"]
    raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw["id"] += 1
    compact = json.dumps(raw, separators=(",", ":")).encode()
    altered = base64.urlsafe_b64encode(compact).decode().rstrip("=")

    response = client.get(PAYMENTS, params={"cursor": altered, "limit": 1}, headers=bearer())

    assert response.status_code == 422


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "1.5", "1e1", " 5", "٣"])
def test_an_unusable_limit_is_422(client: TestClient, limit: str) -> None:
    response = client.get(PAYMENTS, params={"limit": limit}, headers=bearer())

    assert response.status_code == 422
    assert _error(response)["code"] == "validation_error"
    assert _error(response)["field"] == "limit"


def test_limits_default_to_twenty_and_reach_a_hundred(
    client: TestClient, orders: InMemoryOrders
) -> None:
    for _ in range(21):
        _create(client, orders)

    assert len(_list(client, bearer())["data"]) == 20
    assert len(_list(client, bearer(), limit=100)["data"]) == 21
    assert len(_list(client, bearer(), limit=1)["data"]) == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("status", "paid"),
        ("status", "PENDING,CONFIRMED"),
        ("createdFrom", "yesterday"),
        ("createdTo", "2024-13-01"),
        ("createdFrom", "9999-12-31T23:59:59-01:00"),
        ("order", "a\x00b"),
        ("payer", "x" * 300),
    ],
)
def test_an_unusable_filter_is_422_naming_it(client: TestClient, name: str, value: str) -> None:
    response = client.get(PAYMENTS, params={name: value}, headers=ADMIN)

    assert response.status_code == 422
    assert _error(response)["field"] == {"order": "order"}.get(name, name)


def test_empty_and_unknown_parameters_are_ignored(
    client: TestClient, orders: InMemoryOrders
) -> None:
    made = _create(client, orders)
    params = {"status": "", "limit": "", "createdFrom": "", "sort": "amount", "page": "3"}

    assert _ids(_list(client, bearer(), **params)) == [made["id"]]


def test_filters_by_status_and_order(
    client: TestClient, orders: InMemoryOrders, vendor: FakeVendor
) -> None:
    pending = _create(client, orders)
    paid = _create(client, orders)
    client.post(f"{PAYMENTS}/notify/fake", content=vendor.pay(reference_of(paid)), headers=FORM)

    assert _ids(_list(client, bearer(), status="CONFIRMED")) == [paid["id"]]
    assert _ids(_list(client, bearer(), status="PENDING")) == [pending["id"]]
    assert _ids(_list(client, bearer(), order=pending["order"])) == [pending["id"]]


def test_creation_times_in_the_wire_format_or_iso_8601(
    client: TestClient, orders: InMemoryOrders, clock: FrozenClock
) -> None:
    first = _create(client, orders)  # 2024-05-20T05:14:15.000+0000
    clock.advance(timedelta(hours=1))
    second = _create(client, orders)  # 06:14:15
    both, only_second, only_first = (
        [second["id"], first["id"]],
        [second["id"]],
        [first["id"]],
    )

    def ids(query: str) -> list[int]:
        response = client.get(f"{PAYMENTS}?{query}", headers=bearer())
        assert response.status_code == 200, response.text
        return _ids(response.json())

    assert ids("createdFrom=2024-05-20T05:14:15.000%2B0000") == both  # inclusive
    assert ids("createdFrom=2024-05-20T05:14:15.001%2B0000") == only_second
    assert ids("createdTo=2024-05-20T06:14:15.000%2B0000") == only_first  # exclusive
    assert ids("createdFrom=2024-05-20T05:14:15.000+0000") == both  # "+" arrived as a space
    assert ids("createdFrom=2024-05-20T06:00:00Z") == only_second
    assert ids("createdFrom=2024-05-20T14:00:00%2B08:00") == only_second
    assert ids("createdFrom=2024-05-20T14:00:00+08:00") == only_second
    assert ids("createdTo=2024-05-20T06:00:00") == only_first  # no offset: UTC
    assert ids("createdFrom=2024-05-20&createdTo=2024-05-21") == both
    assert ids("createdFrom=2024-05-21") == []


def test_pages_stay_stable_while_payments_are_created_concurrently(
    client: TestClient, orders: InMemoryOrders
) -> None:
    before = [_create(client, orders)["id"] for _ in range(25)]
    stop = threading.Event()

    def keep_creating() -> None:
        while not stop.is_set():
            _create(client, orders)

    creator = threading.Thread(target=keep_creating)
    creator.start()
    try:
        seen: list[int] = []
        page = _list(client, bearer(), limit=4)
        while True:
            seen += [i for i in _ids(page) if i <= before[-1]]
            if page["next"] is None or seen[-1:] == before[:1]:
                break
            page = _list(client, bearer(), limit=4, cursor=page["next"])
    finally:
        stop.set()
        creator.join()

    assert seen == list(reversed(before))


def test_attempts_are_for_admins_oldest_first_with_the_amount_paid(
    client: TestClient, orders: InMemoryOrders, vendor: FakeVendor
) -> None:
    payment = _create(client, orders)
    first = reference_of(payment)
    retried = client.post(f"{PAYMENTS}/retry/{payment['id']}", headers=bearer()).json()["data"]
    client.post(f"{PAYMENTS}/notify/fake", content=vendor.pay(reference_of(retried)), headers=FORM)

    response = client.get(f"{PAYMENTS}/{payment['id']}/attempts", headers=ADMIN)

    assert response.status_code == 200
    attempts = response.json()["data"]
    assert [list(a) for a in attempts] == [
        [
            "reference",
            "state",
            "orderString",
            "openedAt",
            "expiresAt",
            "vendorTradeId",
            "amountPaid",
        ]
    ] * 2
    assert [a["reference"] for a in attempts] == [first, reference_of(retried)]
    assert [a["state"] for a in attempts] == ["CLOSED", "PAID"]
    assert attempts[0]["amountPaid"] is None
    assert attempts[0]["vendorTradeId"] is None
    assert attempts[1]["vendorTradeId"] is not None
    assert b'"amountPaid":12.3}' in response.content
    assert attempts[0]["openedAt"] == "2024-05-20T05:14:15.000+0000"


@pytest.mark.parametrize("payment_id", ["1", "987654", "abc"])
def test_attempts_are_forbidden_to_anyone_but_an_admin(
    client: TestClient, orders: InMemoryOrders, payment_id: str
) -> None:
    _create(client, orders)  # id 1, alice's own

    response = client.get(f"{PAYMENTS}/{payment_id}/attempts", headers=bearer())

    assert response.status_code == 403
    assert _error(response)["code"] == "forbidden"


def test_attempts_of_an_unknown_payment_are_404_for_an_admin(client: TestClient) -> None:
    response = client.get(f"{PAYMENTS}/987654/attempts", headers=ADMIN)

    assert response.status_code == 404
    assert _error(response)["code"] == "payment_not_found"


def test_events_are_every_status_change_oldest_first_with_its_source(
    client: TestClient, orders: InMemoryOrders, vendor: FakeVendor
) -> None:
    payment = _create(client, orders)
    client.post(f"{PAYMENTS}/notify/fake", content=vendor.pay(reference_of(payment)), headers=FORM)

    for headers in (bearer(), ADMIN):
        response = client.get(f"{PAYMENTS}/{payment['id']}/events", headers=headers)
        assert response.status_code == 200
        assert response.json()["data"] == [
            {
                "at": "2024-05-20T05:14:15.000+0000",
                "from": None,
                "to": "PENDING",
                "source": "create",
            },
            {
                "at": "2024-05-20T05:14:15.000+0000",
                "from": "PENDING",
                "to": "CONFIRMED",
                "source": "notification",
            },
        ]


def test_another_users_events_are_404(client: TestClient, orders: InMemoryOrders) -> None:
    payment = _create(client, orders, "alice")

    response = client.get(f"{PAYMENTS}/{payment['id']}/events", headers=bearer("bob"))

    assert response.status_code == 404
    assert _error(response)["code"] == "payment_not_found"


@pytest.fixture
def service(
    repo: Any, vendor: FakeVendor, orders: InMemoryOrders, clock: FrozenClock
) -> PaymentService:
    """Two vendors: ``fake`` (the default) and ``other``."""
    other = FakeVendor("other", clock=clock)
    return PaymentService(
        repo=repo,
        vendors={"fake": vendor, "other": other},
        orders=orders,
        clock=clock,
        default_vendor="fake",
    )


def test_create_takes_a_configured_vendor_or_the_default(
    client: TestClient, orders: InMemoryOrders, repo: Any
) -> None:
    named = _create(client, orders, vendor="other")
    default = _create(client, orders, vendor=None)
    plain = _create(client, orders)

    assert [repo.get(p["id"]).vendor for p in (named, default, plain)] == ["other", "fake", "fake"]


@pytest.mark.parametrize("vendor", ["nope", "", "FAKE", "x" * 1000])
def test_a_vendor_that_is_not_configured_is_422(
    client: TestClient, orders: InMemoryOrders, vendor: str
) -> None:
    order = _order(orders)

    response = client.post(
        PAYMENTS, json={"orderId": order.id, "subject": "Tea", "vendor": vendor}, headers=bearer()
    )

    assert response.status_code == 422
    assert _error(response)["code"] == "vendor_not_supported"
    assert len(response.content) < 300


def test_a_vendor_that_is_not_a_string_is_400(client: TestClient, orders: InMemoryOrders) -> None:
    order = _order(orders)

    response = client.post(
        PAYMENTS, json={"orderId": order.id, "subject": "Tea", "vendor": 7}, headers=bearer()
    )

    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_request"


def test_a_status_filter_names_every_status(client: TestClient) -> None:
    for status in PaymentStatus:
        assert _list(client, bearer(), status=status.value)["data"] == []
