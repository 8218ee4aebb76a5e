"""The real server against an orders service that answers anything.

An order id reaches the orders service as exactly one path segment, with the caller's
token, and nowhere else; an answer that is not the order asked for, readable, is one
502 ``orders_error``, never a payment and never a 500.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final
from urllib.parse import quote, unquote

import jwt
import pytest
import requests
from starlette.types import Receive, Scope, Send

from payments_alipay.emulator import ServerThread
from tests.reliability._system import HIDDEN, SECRET, Server, free_port, hide, scan_logs

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

PREFIX: Final = "/api/v1/orders/"
BUYER: Final = "alice"
DATA: Final = Path(__file__).resolve().parents[1] / "alipay" / "data"


def _order(order_id: str, **fields: object) -> bytes:
    data = {"id": order_id, "buyer": BUYER, "totalAmount": "12.34", "status": "CREATED"}
    return json.dumps({"data": data | fields}).encode()


class HostileOrders:
    """Records every request (path as sent, query, Authorization) and answers as set.

    ``/api/v1/orders/<one segment>`` answers the order of that id unless ``answers``
    holds another reply for it; any other path (the collection, the API root, where a
    walked path lands) answers an order of the same buyer that nobody asked for.
    """

    def __init__(self) -> None:
        self.url = ""  # set once it is served
        self.seen: list[tuple[str, str, str | None]] = []
        self.answers: dict[str, tuple[int, list[tuple[bytes, bytes]], bytes]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["raw_path"].decode("latin-1")
        headers = dict(scope["headers"])
        token = headers.get(b"authorization", b"").decode("latin-1") or None
        self.seen.append((path, scope["query_string"].decode("latin-1"), token))
        segment = path.removeprefix(PREFIX) if path.startswith(PREFIX) else ""
        if segment and "/" not in segment:
            order_id = unquote(segment)
            json_type = [(b"content-type", b"application/json")]
            status, extra, body = self.answers.get(order_id, (200, json_type, _order(order_id)))
        else:
            status, extra, body = 200, [], _order("somebody-elses-order")
        await send({"type": "http.response.start", "status": status, "headers": extra})
        await send({"type": "http.response.body", "body": body})

    def requests_for(self, token: str) -> list[tuple[str, str]]:
        """(path, query) of every request that carried ``token``."""
        return [(path, query) for path, query, sent in self.seen if sent == token]


@pytest.fixture(scope="module")
def orders() -> Iterator[HostileOrders]:
    app = HostileOrders()
    with ServerThread(app) as server:
        app.url = server.url
        yield app


@pytest.fixture(scope="module")
def server(orders: HostileOrders, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("hostile-orders")
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("PAYMENTS_", "ALIPAY_"))}
    env = kept | {
        "PAYMENTS_DATABASE_URL": f"sqlite:///{folder / 'payments.db'}",
        "PAYMENTS_JWT_SECRET": SECRET,
        "PAYMENTS_ORDERS_URL": orders.url,
        "PAYMENTS_RECONCILE_INTERVAL": "0",
        "ALIPAY_APP_ID": "2021000000000001",
        "ALIPAY_PRIVATE_KEY": f"@{DATA / 'app_private_key_pkcs8.pem'}",
        "ALIPAY_PUBLIC_KEY": f"@{DATA / 'alipay_platform_public_key.pem'}",
        "ALIPAY_GATEWAY": f"http://127.0.0.1:{free_port()}/gateway.do",  # creating calls nobody
        "PYTHONUNBUFFERED": "1",
    }
    running = Server(env, folder / "server.log").start()
    yield running
    running.stop()
    leaks = scan_logs([running.log], sorted(HIDDEN))
    assert not leaks, f"secrets in the log: {leaks[:3]}"


def _create(server: Server, order_id: str) -> tuple[requests.Response, str]:
    """POST a payment for ``order_id`` with a token of its own; returns the token too."""
    claims = {"sub": BUYER, "roles": ["CUSTOMER"], "exp": int(time.time()) + 600}
    token = hide(jwt.encode(claims | {"jti": secrets.token_hex(8)}, SECRET, algorithm="HS256"))
    headers = {"Authorization": f"Bearer {token}"}
    response = server.request(
        "POST", "/api/v1/payments", json={"orderId": order_id, "subject": "s"}, headers=headers
    )
    return response, headers["Authorization"]


@pytest.mark.parametrize("order_id", [".", ".."])
def test_a_dot_segment_id_asks_nothing_and_pays_nothing(
    server: Server, orders: HostileOrders, order_id: str
) -> None:
    response, token = _create(server, order_id)

    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "order_not_found"
    assert orders.requests_for(token) == []


@pytest.mark.parametrize(
    "order_id",
    [
        "a/b",
        "../admin",
        "a%2Fb",
        "%2e%2e",
        ".%2e",
        "a?b=1",
        "a#b",
        "a%b",
        "a\\b",
        "...",
        " ..",
        "订单-1",
        "\uff0e\uff0e",
        "a\tb",
        "x" * 64,
    ],
)
def test_an_id_reaches_the_orders_service_as_exactly_one_segment(
    server: Server, orders: HostileOrders, order_id: str
) -> None:
    response, token = _create(server, order_id)

    assert orders.requests_for(token) == [(PREFIX + quote(order_id, safe=""), "")]
    assert response.status_code == 201, response.text
    assert response.json()["data"]["order"] == order_id


@pytest.mark.parametrize("order_id", ["", "   ", "x" * 65])
def test_an_empty_or_too_long_id_is_refused_before_asking(
    server: Server, orders: HostileOrders, order_id: str
) -> None:
    response, token = _create(server, order_id)

    assert response.status_code == 422, response.text
    assert orders.requests_for(token) == []


JSON: Final = [(b"content-type", b"application/json")]
UNUSABLE: Final = {
    "another order": (200, JSON, _order("another")),
    "currency empty": (200, JSON, _order("{id}", currency="")),
    "currency lower case": (200, JSON, _order("{id}", currency="usd")),
    "currency not text": (200, JSON, _order("{id}", currency=156)),
    "amount with exponent": (200, JSON, _order("{id}", totalAmount="1E+2")),
    "amount with a space": (200, JSON, _order("{id}", totalAmount=" 12.34")),
    "amount in Arabic-Indic digits": (200, JSON, _order("{id}", totalAmount="١٢.٣٤")),
    "amount null": (200, JSON, _order("{id}", totalAmount=None)),
    "amount JSON exponent": (
        200,
        JSON,
        b'{"data": {"id": "{id}", "buyer": "alice", "totalAmount": 1e2, "status": "CREATED"}}',
    ),
    "buyer missing": (200, JSON, b'{"data": {"id": "{id}", "totalAmount": "1", "status": "x"}}'),
    "a list of orders": (200, JSON, b'{"data": []}'),
    "HTML": (200, [(b"content-type", b"text/html")], b"<html><body>orders</body></html>"),
    "deeply nested JSON": (200, JSON, b"[" * 50_000),
    "no content": (204, [], b""),
    "bad request": (400, JSON, b'{"error": "no"}'),
    "redirect": (302, [(b"location", b"/api/v1/orders/elsewhere")], b""),
    "larger than 64 KiB": (200, JSON, _order("{id}", pad="x" * 70_000)),
}


@pytest.mark.parametrize("answer", sorted(UNUSABLE))
def test_every_unusable_orders_answer_is_one_502_orders_error(
    server: Server, orders: HostileOrders, answer: str
) -> None:
    order_id = "unusable-" + answer.replace(" ", "-")
    status, headers, body = UNUSABLE[answer]
    orders.answers[order_id] = (status, headers, body.replace(b"{id}", order_id.encode()))

    response, token = _create(server, order_id)

    assert response.status_code == 502, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == "orders_error"
    assert len(orders.requests_for(token)) == 1  # and a redirect is not followed
