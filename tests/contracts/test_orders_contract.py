"""``OrdersContract`` against the in-memory order book and ``HttpOrders`` (over ``responses``)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

import pytest
import requests
import responses

from payments_core.inmemory import InMemoryOrders
from payments_core.testing import OrdersContract, Place
from payments_core.values import Order
from payments_http.orders import HttpOrders

BASE = "http://orders.test"
PREFIX = "/api/v1/orders/"


class TestInMemoryOrders(OrdersContract):
    @pytest.fixture
    def orders(self) -> InMemoryOrders:
        return InMemoryOrders()

    @pytest.fixture
    def place(self, orders: InMemoryOrders) -> Place:
        return orders.put


class OrdersService:
    """An orders service of record behind ``responses``: answers from its dictionary."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}

    def place(self, order: Order) -> None:
        self.orders[order.id] = order

    def answer(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        path = urlsplit(request.url or "").path
        if not request.headers.get("Authorization"):
            return 401, {}, ""
        order = self.orders.get(unquote(path.removeprefix(PREFIX)))
        if order is None:
            return 404, {}, ""
        body = {
            "data": {
                "id": order.id,
                "buyer": order.buyer,
                "totalAmount": str(order.total),
                "status": order.status,
                "currency": order.currency,
            }
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body)


class TestHttpOrders(OrdersContract):
    @pytest.fixture
    def service(self) -> Iterator[OrdersService]:
        service = OrdersService()
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add_callback(
                responses.GET,
                url=re.compile(rf"{BASE}{PREFIX}.*"),
                callback=service.answer,
            )
            yield service

    @pytest.fixture
    def orders(self, service: OrdersService) -> Iterator[HttpOrders]:
        del service  # the mock must be active first
        adapter = HttpOrders(BASE)
        yield adapter
        adapter.close()

    @pytest.fixture
    def place(self, service: OrdersService) -> Place:
        return service.place
