"""The demo end to end: create, pay on the emulator's page in headless Chromium, CONFIRMED."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.api_client import ApiClient
from tests.e2e.conftest import Demo

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("PAYMENTS_TEST_ARTIFACTS", "test-artifacts"))
"""Where screenshots go (CI keeps the folder: ``.ci/run`` names it)."""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def customer(demo: Demo) -> Iterator[ApiClient]:
    client = ApiClient(demo.base, demo.customer_token)
    yield client
    client.close()


@pytest.fixture
def browser_page(tmp_path: Any) -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def test_pay_in_the_browser_and_the_payment_is_confirmed(
    customer: ApiClient, browser_page: Any
) -> None:
    created = customer.create("DEMO-1002", "Tea 茶")
    assert created.status_code == 201, created.text
    payment = created.json()["data"]

    browser_page.goto(payment["orderString"])
    browser_page.click("#pay")
    browser_page.wait_for_selector("#status")  # back through the return handler

    confirmed = customer.wait_for_status(payment["id"], "CONFIRMED")
    assert confirmed["confirmed"] is True
    assert confirmed["valid"] is True
    assert confirmed["totalAmount"] == 1000.12
    assert customer.verify(payment["id"]).json() == {"data": True}


def test_the_shop_walk_order_pay_emulator_and_back_to_confirmed(
    demo: Demo, customer: ApiClient, browser_page: Any
) -> None:
    shots = ARTIFACTS / "shop-walk"
    shots.mkdir(parents=True, exist_ok=True)
    browser_page.goto(demo.base + "/")
    browser_page.screenshot(path=str(shots / "1-shop.png"))

    browser_page.click("#pay-DEMO-1001-alipay")
    browser_page.wait_for_selector("#pay")  # the emulator's cashier
    browser_page.screenshot(path=str(shots / "2-cashier.png"))
    browser_page.click("#pay")
    browser_page.wait_for_selector("#status")
    browser_page.screenshot(path=str(shots / "3-result.png"))

    assert browser_page.text_content("#status") == "CONFIRMED"  # the return asked Alipay
    assert browser_page.url.startswith(demo.base + "/shop/result?payment=")
    payment_id = int(browser_page.url.split("payment=")[1].split("&")[0])
    assert customer.get(payment_id).json()["data"]["status"] == "CONFIRMED"
    browser_page.click("text=Back to the shop")
    browser_page.wait_for_selector("#pay-DEMO-1002-alipay")


def test_forged_notifications_and_strangers_change_nothing(demo: Demo, customer: ApiClient) -> None:
    payment = customer.create("DEMO-1003", "Biscuits").json()["data"]
    reference = payment["orderString"].split("out_trade_no%22%3A%22", 1)[1].split("%22", 1)[0]
    forged = {
        "out_trade_no": reference,
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "0.30",
        "app_id": "2021000000000001",
        "sign_type": "RSA2",
        "sign": "AAAA",
    }

    answer = requests.post(f"{demo.base}/api/v1/payments/notify/alipay", data=forged, timeout=10)
    stranger = ApiClient(demo.base, demo.admin_token.replace(".", ".x", 1)).get(payment["id"])

    assert answer.text != "success"
    assert stranger.status_code == 401
    assert customer.get(payment["id"]).json()["data"]["status"] == "PENDING"
    assert customer.verify(payment["id"]).json() == {"data": False}


def _reference(order_string: str) -> str:
    return order_string.split("out_trade_no%22%3A%22", 1)[1].split("%22", 1)[0]


def test_a_charge_taken_twice_in_the_demo_is_refunded_by_itself(
    demo: Demo, customer: ApiClient
) -> None:
    first = customer.create("WX-3001", "Tea").json()["data"]  # any order takes Alipay too
    second = requests.get(
        f"{demo.base}/api/v1/payments/retry/{first['id']}",
        headers={"Authorization": f"Bearer {demo.customer_token}"},
        timeout=10,
    ).json()["data"]
    emulator = f"{demo.base}/emulator"

    for order_string in (first["orderString"], second["orderString"]):  # the buyer pays both
        assert requests.get(order_string, timeout=10).status_code == 200  # opens the cashier
        paid = requests.post(
            f"{emulator}/control/trades/{_reference(order_string)}/pay", json={}, timeout=10
        )
        assert paid.status_code == 200, paid.text

    customer.wait_for_status(first["id"], "CONFIRMED")
    refunds: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        refunds = requests.get(
            f"{demo.base}/api/v1/payments/{first['id']}/refunds",
            headers={"Authorization": f"Bearer {demo.customer_token}"},
            timeout=10,
        ).json()["data"]
        if refunds and refunds[0]["status"] == "SUCCEEDED":
            break
        time.sleep(0.2)
    assert [(r["kind"], r["status"], r["amount"]) for r in refunds] == [
        ("DUPLICATE", "SUCCEEDED", 12.8)
    ]
