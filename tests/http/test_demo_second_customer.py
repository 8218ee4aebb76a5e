"""The demo prints a second customer's token, so "another user's payment is 404" can be tried."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from payments_http import demo

PUBLIC_URL = "http://127.0.0.1:8124"


@pytest.fixture
def built(tmp_path: Path) -> demo.Demo:
    return demo.build({"PAYMENTS_PORT": "8124"}, tmp_path)  # the installed Alipay demo


@pytest.fixture
def client(built: demo.Demo) -> Iterator[TestClient]:
    with TestClient(built.app, base_url=PUBLIC_URL) as test_client:
        yield test_client


def _bearer(banner: str, name: str) -> dict[str, str]:
    line = next(line for line in banner.splitlines() if line.startswith(f"export {name}="))
    return {"Authorization": f"Bearer {line.partition('=')[2]}"}


def test_the_second_customer_owns_a_seeded_order_and_cannot_see_alice_s_payment(
    built: demo.Demo, client: TestClient
) -> None:
    alice, bob = (
        _bearer(built.banner, "CUSTOMER_TOKEN"),
        _bearer(built.banner, "OTHER_CUSTOMER_TOKEN"),
    )

    hers = client.post(
        "/api/v1/payments", json={"orderId": "DEMO-1001", "subject": "Tea"}, headers=alice
    )
    his = client.post(
        "/api/v1/payments", json={"orderId": "DEMO-2001", "subject": "Tea"}, headers=bob
    )
    path = f"/api/v1/payments/{hers.json()['data']['id']}"

    assert hers.status_code == 201, hers.text
    assert his.status_code == 201, his.text
    assert his.json()["data"]["payer"] == "bob"
    assert client.get(path, headers=bob).status_code == 404
    assert client.get(path, headers=bob).json()["error"]["code"] == "payment_not_found"
    assert client.get(path, headers=alice).status_code == 200
    assert "alice and bob have the role CUSTOMER" in built.banner
    assert (
        'curl -s "$PAYMENTS/api/v1/payments/1" -H "Authorization: Bearer $OTHER_CUSTOMER_TOKEN"'
        in built.banner
    )
