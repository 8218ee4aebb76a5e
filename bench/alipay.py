"""Benchmark: Alipay order strings built and notifications verified per second.

Each figure is printed as a ratio to (a) the raw ``cryptography`` RSA-2048 sign or verify
it cannot beat, measured in the same run on the same key, and (b) python-alipay-sdk
doing the same job, when it is installed (``pip install python-alipay-sdk``; it is
never a project dependency). Targets: builds >= 0.8 of raw sign, notification
verifications >= 0.5 of raw verify.

    python -m bench.alipay [--seconds 6]    (from the repository root; run as a script,
    bench/http.py would shadow the standard library's http package)

Rounds of every operation are interleaved and the median rate is reported, so a noisy
neighbour on a shared machine skews all of them alike.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from payments_alipay import AlipayGateway, AlipaySettings, canonical_string
from payments_alipay.emulator import Trade, notification_body
from payments_alipay.keys import load_private_key, load_public_key
from payments_alipay.signing import NOTIFICATION_EXCLUDED
from payments_core.money import Money
from payments_core.values import CheckoutRequest

DATA = Path(__file__).parents[1] / "tests" / "alipay" / "data"
APP_ID = "2021000000000001"
NOTIFY_URL = "https://shop.example.com/api/v1/payments/notify/alipay"
RETURN_URL = "https://shop.example.com/back"
ROUNDS = 5


def rate(operation: Callable[[], object], seconds: float) -> float:
    """Operations per second over about ``seconds`` of calls."""
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(20):
            operation()
        count += 20
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def measure(operations: dict[str, Callable[[], object]], seconds: float) -> dict[str, float]:
    """The median rate of each operation over interleaved rounds."""
    rates: dict[str, list[float]] = {name: [] for name in operations}
    for _ in range(ROUNDS):
        for name, operation in operations.items():
            rates[name].append(rate(operation, seconds / ROUNDS / len(operations)))
    return {name: statistics.median(values) for name, values in rates.items()}


def sample_notification(platform_pem: str, now: datetime) -> bytes:
    trade = Trade(
        app_id=APP_ID,
        out_trade_no="P1_A1",
        trade_no="2024052022001400001234567890",
        method="alipay.trade.page.pay",
        total_amount="88.88",
        subject="测试订单 Test Order",
        body=None,
        time_expire=None,
        notify_url=NOTIFY_URL,
        return_url=None,
        quit_url=None,
        created_at=now,
        status="TRADE_SUCCESS",
        paid_at=now,
        seller_id="2088102100000002",
        buyer_id="2088102100000001",
    )
    return notification_body(trade, load_private_key(platform_pem), now).encode("ascii")


def ours(app_pem: str, platform_public_pem: str, body: bytes) -> dict[str, Callable[[], object]]:
    settings = AlipaySettings(
        app_id=APP_ID,
        private_key=load_private_key(app_pem),
        alipay_public_key=load_public_key(platform_public_pem),
        notify_url=NOTIFY_URL,
        return_url=RETURN_URL,
    )
    gateway = AlipayGateway(settings)
    request = CheckoutRequest(
        reference="P1_A1",
        amount=Money.parse("88.88"),
        subject="测试订单 Test Order",
        description=None,
        expires_at=datetime.now(UTC) + timedelta(minutes=15),
    )
    assert gateway.parse_notification(body, {"content-type": "application/x-www-form-urlencoded"})  # noqa: S101
    return {
        "ours build": lambda: gateway.open_checkout(request),
        "ours verify": lambda: gateway.parse_notification(
            body, {"content-type": "application/x-www-form-urlencoded"}
        ),
    }


def raw(app_pem: str, platform_public_pem: str, body: bytes) -> dict[str, Callable[[], object]]:
    key, public = load_private_key(app_pem), load_public_key(platform_public_pem)
    fields = dict(parse_qsl(body.decode("ascii")))
    content = canonical_string(fields, NOTIFICATION_EXCLUDED).encode("utf-8")
    signature = __import__("base64").b64decode(fields["sign"])
    message = b"x" * 600  # about the length of a page-pay canonical string
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
    return {
        "raw sign": lambda: key.sign(message, pkcs1, sha256),
        "raw verify": lambda: public.verify(signature, content, pkcs1, sha256),
    }


def sdk(app_pem: str, platform_public_pem: str, body: bytes) -> dict[str, Callable[[], object]]:
    # python-alipay-sdk is untyped and installed only by the bench session
    from alipay import AliPay  # type: ignore[attr-defined,import-not-found,import-untyped,unused-ignore]

    client = AliPay(APP_ID, NOTIFY_URL, app_pem, platform_public_pem, sign_type="RSA2")
    expire = (datetime.now(UTC) + timedelta(minutes=15)).strftime("%Y-%m-%d %H:%M:%S")

    def build() -> object:
        return client.api_alipay_trade_page_pay(
            "测试订单 Test Order",
            "P1_A1",
            "88.88",
            return_url=RETURN_URL,
            notify_url=NOTIFY_URL,
            time_expire=expire,
        )

    def verify() -> object:
        data = dict(parse_qsl(body.decode("ascii")))
        return client.verify(data, data.pop("sign"))

    assert verify()  # noqa: S101
    return {"sdk build": build, "sdk verify": verify}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="total measuring time")
    args = parser.parse_args()
    app_pem = (DATA / "app_private_key_pkcs8.pem").read_text()
    platform_public_pem = (DATA / "alipay_platform_public_key.pem").read_text()
    body = sample_notification(
        (DATA / "alipay_platform_private_key_pkcs8.pem").read_text(), datetime.now(UTC)
    )
    operations = {
        **raw(app_pem, platform_public_pem, body),
        **ours(app_pem, platform_public_pem, body),
    }
    try:
        operations |= sdk(app_pem, platform_public_pem, body)
    except ImportError:
        print(
            "python-alipay-sdk is not installed: skipping the SDK comparison (pip install python-alipay-sdk)"
        )
    rates = measure(operations, args.seconds)
    for name, value in rates.items():
        print(f"{name:12s} {value:10.0f}/s")
    print(
        f"orderString builds/s: {rates['ours build']:.0f} = {rates['ours build'] / rates['raw sign']:.2f} x raw sign (target >= 0.80)",
        end="",
    )
    print(
        f", {rates['ours build'] / rates['sdk build']:.2f} x python-alipay-sdk"
        if "sdk build" in rates
        else ""
    )
    print(
        f"notification verifications/s: {rates['ours verify']:.0f} = {rates['ours verify'] / rates['raw verify']:.2f} x raw verify (target >= 0.50)",
        end="",
    )
    print(
        f", {rates['ours verify'] / rates['sdk verify']:.2f} x python-alipay-sdk"
        if "sdk verify" in rates
        else ""
    )


if __name__ == "__main__":
    main()
