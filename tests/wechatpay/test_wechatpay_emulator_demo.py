"""The demo server with WeChat Pay as its vendor, over real HTTP: create, scan and pay, CONFIRMED.

The demo mounts the WeChat Pay emulator beside Alipay's; the emulator's notification
comes back to the demo's own notify path, signed and encrypted, and confirms the payment.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import uvicorn

from payments_http import demo

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _export(banner: str, name: str) -> str:
    line = next(line for line in banner.splitlines() if line.startswith(f"export {name}="))
    return line.partition("=")[2]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[str, str]]:
    port = _free_port()
    built = demo.build({"PAYMENTS_PORT": str(port), "PAYMENTS_VENDOR": "wechatpay"}, tmp_path)
    server = uvicorn.Server(
        uvicorn.Config(built.app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the demo did not start"
        assert time.monotonic() < deadline, "the demo did not start in time"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", _export(built.banner, "CUSTOMER_TOKEN")
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def test_a_wechat_pay_payment_in_the_demo_is_confirmed_by_the_emulators_notification(
    running: tuple[str, str],
) -> None:
    base, token = running
    auth = {"Authorization": f"Bearer {token}"}

    created = requests.post(
        f"{base}/api/v1/payments",
        json={"orderId": "WX-3001", "subject": "Tea 茶"},
        headers=auth,
        timeout=10,
    )
    payment = created.json()["data"]
    index = requests.get(f"{base}/wechatpay/", timeout=5).text
    pr = payment["orderString"].partition("pr=")[2]
    scan = requests.get(f"{base}/wechatpay/scan/{pr}", timeout=5)
    paid = requests.post(f"{base}/wechatpay/scan/{pr}", data={"action": "pay"}, timeout=5)
    deadline = time.monotonic() + 15
    while True:
        status = requests.get(f"{base}/api/v1/payments/{payment['id']}", headers=auth, timeout=5)
        if status.json()["data"]["status"] == "CONFIRMED" or time.monotonic() > deadline:
            break
        time.sleep(0.1)

    assert created.status_code == 201, created.text
    assert re.fullmatch(r"weixin://wxpay/bizpayurl\?pr=[\w-]+", payment["orderString"])
    assert f'href="scan/{pr}"' in index
    assert "<svg" in scan.text
    assert "Paid 12.80 CNY." in paid.text
    confirmed = status.json()["data"]
    assert confirmed["status"] == "CONFIRMED"
    assert confirmed["valid"] is True
    assert confirmed["vendorTradeId"].startswith("4200")
