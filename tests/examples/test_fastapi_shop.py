"""examples/fastapi_shop over real HTTP: an order paid on the emulator's page becomes PAID.

The shop runs under uvicorn on 127.0.0.1 as a team would run it; the buyer opens the
payment's orderString and presses Pay on the emulator's cashier page; the emulator
notifies the shop's own notify route; the shop's hook marks its order PAID.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urljoin

import pytest
import requests

from payments_core.testing import OrdersContract, Place

SHOP = Path(__file__).parents[2] / "examples" / "fastapi_shop"
SECRET = secrets.token_urlsafe(32)


def _shop_module(name: str) -> ModuleType:
    if str(SHOP) not in sys.path:
        sys.path.insert(0, str(SHOP))
    return importlib.import_module(name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Shop:
    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        token = _shop_module("shop_auth").issue(SECRET, "alice")
        self.http.headers["Authorization"] = f"Bearer {token}"

    def post(self, path: str, body: object = None) -> requests.Response:
        return self.http.post(self.base + path, json=body, timeout=15)

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base + path, timeout=15)

    def wait_for_order(self, order_id: str, status: str, seconds: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            order: dict[str, Any] = self.get(f"/shop/orders/{order_id}").json()
            if order["status"] == status or time.monotonic() > deadline:
                return order
            time.sleep(0.1)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ALIPAY_", "PAYMENTS_"))},
        "SHOP_JWT_SECRET": SECRET,
        "SHOP_PUBLIC_URL": base,
        "SHOP_DATA": str(tmp_path_factory.mktemp("shop")),
    }
    command = [
        sys.executable, "-m", "uvicorn", "shop_app:create_shop_from_env", "--factory",
        "--app-dir", str(SHOP), "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    log = Path(env["SHOP_DATA"]) / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(  # noqa: S603 - our own example with this interpreter
            command, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_up(base, server, log)
        yield Shop(base)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_up(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the shop exited: {log.read_text()}")
        try:
            if requests.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError("the shop did not start within 60 s")


def _pay_on_the_cashier_page(order_string: str) -> requests.Response:
    buyer = requests.Session()
    page = buyer.get(order_string, timeout=15)
    assert page.status_code == 200, page.text
    query = dict(parse_qsl(order_string.split("?", 1)[1]))
    reference = json.loads(query["biz_content"])["out_trade_no"]
    action = urljoin(page.url, f"pay/{reference}")
    return buyer.post(action, data={"action": "pay"}, timeout=15, allow_redirects=False)


def test_an_order_paid_through_the_emulator_becomes_paid_in_the_shop(shop: Shop) -> None:
    order = shop.post("/shop/orders", {"total": "88.88"}).json()
    created = shop.post(f"/shop/orders/{order['id']}/payment")
    assert created.status_code == 201, created.text
    payment = created.json()["data"]
    assert payment["totalAmount"] == 88.88
    assert payment["status"] == "PENDING"

    paid = _pay_on_the_cashier_page(payment["orderString"])

    assert paid.status_code < 400, paid.text
    assert shop.wait_for_order(order["id"], "PAID")["status"] == "PAID"
    mounted = shop.get(f"/pay/api/v1/payments/{payment['id']}").json()["data"]
    assert mounted["status"] == "CONFIRMED"
    assert mounted["order"] == order["id"]


def test_a_second_payment_of_the_order_is_our_error_body_from_the_shops_handler(
    shop: Shop,
) -> None:
    order = shop.post("/shop/orders", {"total": "1.00"}).json()
    first = shop.post(f"/shop/orders/{order['id']}/payment")

    again = shop.post(f"/shop/orders/{order['id']}/payment")

    assert again.status_code == 409
    assert again.json() == {
        "error": {
            "code": "payment_exists",
            "message": again.json()["error"]["message"],
            "paymentId": first.json()["data"]["id"],
        }
    }


def test_the_mounted_app_reads_the_shops_own_tokens(shop: Shop) -> None:
    assert shop.get("/pay/api/v1/payments/999999").json()["error"]["code"] == "payment_not_found"
    anonymous = requests.get(shop.base + "/pay/api/v1/payments/1", timeout=15)
    assert anonymous.status_code == 401


class TestShopOrders(OrdersContract):
    """The shop's Orders adapter over its own table passes the port's suite."""

    @pytest.fixture
    def table(self, tmp_path: Path) -> Any:
        return _shop_module("shop_orders").OrderTable(tmp_path / "shop.db")

    @pytest.fixture
    def orders(self, table: Any) -> Any:
        return _shop_module("shop_orders").ShopOrders(table)

    @pytest.fixture
    def place(self, table: Any) -> Place:
        put: Place = table.put
        return put


def test_the_hook_marks_only_a_confirmed_payments_order_paid_and_is_idempotent(
    tmp_path: Path,
) -> None:
    orders = _shop_module("shop_orders")
    from payments_core import Order, PaymentStatus
    from payments_core.inmemory import FrozenClock
    from payments_core.testing import new_payment

    table = orders.OrderTable(tmp_path / "shop.db")
    table.put(Order(id="o1", buyer="alice", total=Decimal("1.00"), status="CREATED"))
    hook = orders.MarkOrdersPaid(table)
    payment = new_payment(FrozenClock(), order_id="o1")

    hook.payments_status_changed(payment=payment, previous=None, current=PaymentStatus.PENDING)
    pending = table.find("o1").status
    for _ in range(2):
        hook.payments_status_changed(
            payment=payment, previous=PaymentStatus.PENDING, current=PaymentStatus.CONFIRMED
        )

    assert pending == "CREATED"
    assert table.find("o1").status == "PAID"
