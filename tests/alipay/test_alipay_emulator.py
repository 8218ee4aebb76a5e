"""The gateway and the emulator over real HTTP (uvicorn on 127.0.0.1): round trips and faults."""

from __future__ import annotations

import itertools
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from starlette.applications import Starlette
from starlette.routing import Mount

from payments_alipay import AlipayGateway, AlipaySettings, Timeouts, canonical_string, verify_rsa2
from payments_alipay._checkout import common_params
from payments_alipay.emulator import AlipayEmulator, EmulatorServer, ServerThread
from payments_alipay.signing import NOTIFICATION_EXCLUDED, encode_query, signed_params
from payments_core.errors import SignatureInvalid, VendorDeclined, VendorError, VendorUnavailable
from payments_core.inmemory import FrozenClock
from payments_core.money import Money
from payments_core.testing import unique
from payments_core.values import CheckoutRequest, TradeStatus
from tests.alipay.conftest import APP_ID, read
from tests.alipay.emulator_fixtures import BrowserBuyer, Shop, frozen_now

pytestmark = pytest.mark.integration
CLOSE_LATER: list[AlipayGateway] = []


@pytest.fixture(scope="module", autouse=True)
def _close_gateways() -> Iterator[None]:
    yield
    for gateway in CLOSE_LATER:
        gateway.close()


FACTOR = 0.0005  # Alipay's 4-minute first resend gap becomes 0.12 s


@pytest.fixture(scope="module")
def server(clock: FrozenClock) -> Iterator[EmulatorServer]:
    with EmulatorServer(
        platform_private_key=read("alipay_platform_private_key_pkcs8.pem"),
        resend_factor=FACTOR,
        clock=clock.now,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def settings(
    server: EmulatorServer, shop: tuple[Shop, ServerThread], app_key: RSAPrivateKey
) -> AlipaySettings:
    raw = server.merchant_settings(app_id=APP_ID, private_key=app_key, public_url=shop[1].url)
    return AlipaySettings.from_settings(
        {**raw, "ALIPAY_RETURN_URL": "https://shop.example.com/back"}
    )


@pytest.fixture
def gateway(settings: AlipaySettings, clock: FrozenClock) -> Iterator[AlipayGateway]:
    gateway = AlipayGateway(
        settings, timeouts=Timeouts(connect=1, read=0.5, retries=0), clock=clock.now
    )
    yield gateway
    gateway.close()


@pytest.fixture
def buyer(server: EmulatorServer, shop: tuple[Shop, ServerThread]) -> Iterator[BrowserBuyer]:
    with requests.Session() as session:
        yield BrowserBuyer(server.emulator, shop[0], session)


def checkout(
    gateway: AlipayGateway, clock: FrozenClock, amount: str = "66.60", minutes: int = 15
) -> tuple[str, str]:
    reference = unique("E")
    request = CheckoutRequest(
        reference=reference,
        amount=Money.parse(amount),
        subject="Emulator 测试 & co",
        description="desc",
        expires_at=clock.now() + timedelta(minutes=minutes),
    )
    return reference, gateway.open_checkout(request).order_string


def test_the_buyer_pays_on_the_cashier_page_and_the_gateway_sees_it(
    gateway: AlipayGateway, buyer: BrowserBuyer, clock: FrozenClock
) -> None:
    reference, order_string = checkout(gateway, clock)
    assert gateway.query(reference).status is TradeStatus.UNPAID

    page = buyer.open(order_string)
    opened = gateway.query(reference)
    paid = buyer.click(reference, "pay")
    report = gateway.query(reference)

    assert page.status_code == 200
    assert 'id="pay"' in page.text
    assert 'id="cancel"' in page.text
    assert opened.status is TradeStatus.UNPAID
    assert paid.status_code == 303
    assert report.status is TradeStatus.PAID
    assert report.amount == Money.parse("66.60")
    assert report.trade_id


def test_the_return_redirect_is_signed_like_a_notification(
    gateway: AlipayGateway, buyer: BrowserBuyer, clock: FrozenClock, settings: AlipaySettings
) -> None:
    reference, order_string = checkout(gateway, clock)
    buyer.open(order_string)

    location = buyer.click(reference, "pay").headers["location"]

    params = dict(parse_qsl(urlsplit(location).query))
    assert location.startswith("https://shop.example.com/back?")
    assert params["method"] == "alipay.trade.page.pay.return"
    assert "trade_status" not in params
    content = canonical_string(params, NOTIFICATION_EXCLUDED)
    assert verify_rsa2(settings.alipay_public_key, content, params["sign"])


def test_cancel_leaves_the_trade_waiting(
    gateway: AlipayGateway, buyer: BrowserBuyer, clock: FrozenClock
) -> None:
    reference, order_string = checkout(gateway, clock)
    buyer.open(order_string)

    cancelled = buyer.click(reference, "cancel")

    assert cancelled.status_code == 200
    assert "cancelled" in cancelled.text
    assert gateway.query(reference).status is TradeStatus.UNPAID


def test_a_paid_trade_is_notified_with_a_verified_notification(
    gateway: AlipayGateway, buyer: BrowserBuyer, clock: FrozenClock
) -> None:
    reference, order_string = checkout(gateway, clock, "0.30")
    buyer.open(order_string)

    buyer.click(reference, "pay")
    (body,) = buyer.shop.wait_for(reference)

    report = gateway.parse_notification(body, {"content-type": "application/x-www-form-urlencoded"})
    assert report is not None
    assert report.status is TradeStatus.PAID
    assert report.amount == Money(30)
    assert report.merchant_matches


def test_notifications_are_resent_on_the_scaled_schedule_until_success(
    gateway: AlipayGateway, buyer: BrowserBuyer, clock: FrozenClock, server: EmulatorServer
) -> None:
    reference, order_string = checkout(gateway, clock)
    buyer.shop.replies[reference] = ["failure", "<html>oops</html>"]
    buyer.open(order_string)

    buyer.click(reference, "pay")
    bodies = buyer.shop.wait_for(reference, 3)
    time.sleep(240 * FACTOR)

    trade = server.emulator.trade(reference)
    assert trade is not None
    history: list[dict[str, Any]] = trade["notifications"]  # type: ignore[assignment]  # trades are untyped dicts
    assert [h["delivered"] for h in history] == [False, False, True]
    gaps = [later["at"] - earlier["at"] for earlier, later in itertools.pairwise(history)]
    assert gaps[0] >= 240 * FACTOR * 0.9
    assert gaps[1] >= 600 * FACTOR * 0.9
    assert len(set(bodies)) == 1  # the same notification (same notify_id) each time


def test_resending_stops_after_eight_sends(
    gateway: AlipayGateway, buyer: BrowserBuyer, clock: FrozenClock, server: EmulatorServer
) -> None:
    reference, order_string = checkout(gateway, clock)
    buyer.shop.replies[reference] = ["failure"] * 20
    buyer.open(order_string)
    server.emulator.notifier.factor = 0.00001  # the whole 24-hour schedule in under a second
    try:
        server.emulator.pay(reference)
        buyer.shop.wait_for(reference, 8)
        time.sleep(0.7)
    finally:
        server.emulator.notifier.factor = FACTOR

    assert len(buyer.shop.bodies[reference]) == 8


def test_a_trade_past_its_time_expire_is_closed_and_cannot_be_paid(
    gateway: AlipayGateway, buyer: BrowserBuyer, clock: FrozenClock, server: EmulatorServer
) -> None:
    reference, order_string = checkout(gateway, clock, minutes=2)
    buyer.open(order_string)
    later = frozen_now()

    clock.advance(timedelta(minutes=2))
    try:
        refused = buyer.click(reference, "pay")
        report = gateway.query(reference)
        reopened = buyer.open(order_string)
    finally:
        clock.advance(-(clock.now() - later.now()))

    assert refused.status_code == 409
    assert "ACQ.TRADE_HAS_CLOSE" in refused.text
    assert report.status is TradeStatus.CLOSED
    assert reopened.status_code == 400


def test_an_order_string_opened_after_its_expiry_creates_no_trade(
    gateway: AlipayGateway, buyer: BrowserBuyer, clock: FrozenClock, server: EmulatorServer
) -> None:
    reference, order_string = checkout(gateway, clock, minutes=1)
    start = clock.now()
    clock.advance(timedelta(minutes=1, seconds=1))
    try:
        page = buyer.open(order_string)
    finally:
        clock.advance(start - clock.now())

    assert page.status_code == 400
    assert server.emulator.trade(reference) is None


def test_the_same_out_trade_no_with_another_amount_is_refused(
    gateway: AlipayGateway, buyer: BrowserBuyer, clock: FrozenClock, settings: AlipaySettings
) -> None:
    reference, order_string = checkout(gateway, clock, "10.00")
    buyer.open(order_string)
    request = CheckoutRequest(
        reference=reference,
        amount=Money.parse("20.00"),
        subject="x",
        description=None,
        expires_at=clock.now() + timedelta(minutes=5),
    )

    page = buyer.open(gateway.open_checkout(request).order_string)

    assert page.status_code == 400
    assert "ACQ.CONTEXT_INCONSISTENT" in page.text


def test_close_makes_an_opened_trade_unpayable(
    gateway: AlipayGateway, buyer: BrowserBuyer, clock: FrozenClock, server: EmulatorServer
) -> None:
    reference, order_string = checkout(gateway, clock)
    buyer.open(order_string)

    gateway.close_attempt(reference)
    gateway.close_attempt(reference)  # closing twice is fine

    assert gateway.query(reference).status is TradeStatus.CLOSED
    assert buyer.click(reference, "pay").status_code == 409


def test_the_emulator_refuses_a_request_signed_with_another_key(
    settings: AlipaySettings, clock: FrozenClock, platform_key: RSAPrivateKey
) -> None:
    forged = AlipayGateway(
        AlipaySettings(
            **{
                **settings.__dict__,
                "private_key": platform_key,
                "alipay_public_key": settings.alipay_public_key,
            }
        ),
        timeouts=Timeouts(retries=0),
        clock=clock.now,
    )
    CLOSE_LATER.append(forged)

    with pytest.raises(VendorDeclined) as raised:
        forged.query(unique("E"))

    assert raised.value.vendor_code == "isv.invalid-signature"


def test_the_emulator_refuses_an_unknown_app_id(
    settings: AlipaySettings, clock: FrozenClock
) -> None:
    stranger = AlipayGateway(
        AlipaySettings(**{**settings.__dict__, "app_id": "2021999999999999"}), clock=clock.now
    )
    CLOSE_LATER.append(stranger)

    with pytest.raises(VendorDeclined) as raised:
        stranger.query(unique("E"))

    assert raised.value.vendor_code == "isv.invalid-app-id"


def test_a_gateway_configured_with_the_wrong_alipay_key_believes_nothing(
    settings: AlipaySettings, clock: FrozenClock, app_key: RSAPrivateKey
) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(65537, 2048).public_key()
    wrong = AlipayGateway(
        AlipaySettings(**{**settings.__dict__, "alipay_public_key": other}), clock=clock.now
    )
    CLOSE_LATER.append(wrong)

    with pytest.raises(SignatureInvalid):
        wrong.query(unique("E"))


FAULTS = [
    ("timeout", VendorUnavailable),
    ("500", VendorUnavailable),
    ("html", VendorError),
    ("bad-signature", SignatureInvalid),
    ("unsigned", SignatureInvalid),
    ("system-error", VendorUnavailable),
]


@pytest.mark.parametrize(("mode", "error"), FAULTS)
@pytest.mark.parametrize("operation", ["query", "close"])
def test_every_injected_fault_ends_in_the_right_error_and_no_state_change(
    gateway: AlipayGateway,
    buyer: BrowserBuyer,
    clock: FrozenClock,
    server: EmulatorServer,
    mode: str,
    error: type[VendorError],
    operation: str,
) -> None:
    reference, order_string = checkout(gateway, clock)
    buyer.open(order_string)
    control = requests.post(
        f"{server.url}/control/fail-next",
        json={"mode": mode, "seconds": 1.0, "method": f"alipay.trade.{operation}"},
        timeout=5,
    )
    assert control.status_code == 200

    with pytest.raises(error):
        {"query": gateway.query, "close": gateway.close_attempt}[operation](reference)

    trade = server.emulator.trade(reference)
    assert trade is not None
    assert trade["trade_status"] == "WAIT_BUYER_PAY"
    assert gateway.query(reference).status is TradeStatus.UNPAID


def test_a_refused_connection_is_vendor_unavailable(
    settings: AlipaySettings, clock: FrozenClock
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nowhere = AlipaySettings(
        **{**settings.__dict__, "gateway_url": f"http://127.0.0.1:{port}/gateway.do"}
    )
    gateway = AlipayGateway(
        nowhere, timeouts=Timeouts(connect=0.5, retries=1, backoff=0.01), clock=clock.now
    )
    CLOSE_LATER.append(gateway)

    with pytest.raises(VendorUnavailable, match="connection failed"):
        gateway.query(unique("E"))


def test_the_control_api_pays_reports_and_refuses(
    gateway: AlipayGateway, buyer: BrowserBuyer, clock: FrozenClock, server: EmulatorServer
) -> None:
    reference, order_string = checkout(gateway, clock)
    missing = requests.get(f"{server.url}/control/trades/{reference}", timeout=5)
    buyer.open(order_string)

    paid = requests.post(f"{server.url}/control/trades/{reference}/pay", json={}, timeout=5)
    again = requests.post(f"{server.url}/control/trades/{reference}/pay", timeout=5)
    shown = requests.get(f"{server.url}/control/trades/{reference}", timeout=5)
    bad_mode = requests.post(f"{server.url}/control/fail-next", json={"mode": "explode"}, timeout=5)

    assert missing.status_code == 404
    assert paid.json()["data"]["trade_status"] == "TRADE_SUCCESS"
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "ACQ.TRADE_HAS_SUCCESS"
    assert shown.json()["data"]["total_amount"] == "66.60"
    assert bad_mode.status_code == 400


def test_the_control_api_can_fake_a_wrong_amount_and_seller(
    gateway: AlipayGateway, buyer: BrowserBuyer, clock: FrozenClock, server: EmulatorServer
) -> None:
    reference, order_string = checkout(gateway, clock, "50.00")
    buyer.open(order_string)

    requests.post(
        f"{server.url}/control/trades/{reference}/pay",
        json={"total_amount": "0.01", "seller_id": "2088000000000009"},
        timeout=5,
    )
    (body,) = buyer.shop.wait_for(reference)

    report = gateway.parse_notification(body, {"content-type": "application/x-www-form-urlencoded"})
    assert report is not None
    assert report.amount == Money(1)
    assert not report.merchant_matches


def test_the_control_api_shows_the_platform_key(
    server: EmulatorServer, settings: AlipaySettings
) -> None:
    keys = requests.get(f"{server.url}/control/keys", timeout=5).json()["data"]

    assert keys["platform_public_key"] == read("alipay_platform_public_key.txt").strip()


def test_the_cashier_works_when_mounted_under_a_prefix(
    settings: AlipaySettings, app_key: RSAPrivateKey, clock: FrozenClock
) -> None:
    emulator = AlipayEmulator(
        merchants={APP_ID: app_key.public_key()},
        platform_private_key=read("alipay_platform_private_key_pkcs8.pem"),
        clock=clock.now,
    )
    host = Starlette(routes=[Mount("/emulator", app=emulator.app)])
    with ServerThread(host) as served, requests.Session() as session:
        mounted = AlipaySettings(
            **{**settings.__dict__, "gateway_url": f"{served.url}/emulator/gateway.do"}
        )
        gateway = AlipayGateway(mounted, clock=clock.now)
        CLOSE_LATER.append(gateway)
        reference, order_string = checkout(gateway, clock)
        browser = BrowserBuyer(emulator, Shop(), session)
        page = browser.open(order_string)
        action = re.search(r'action="([^"]+)"', page.text)
        paid = browser.click(reference, "pay")
        report = gateway.query(reference)
    emulator.shutdown()

    assert action is not None
    assert action.group(1) == f"pay/{reference}"
    assert paid.status_code == 303
    assert report.status is TradeStatus.PAID


def test_the_emulator_runs_standalone_from_the_command_line() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "payments_alipay.emulator",
        "--port",
        str(port),
        "--resend-factor",
        "0.01",
    ]
    with subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(6)]
            keys = _wait_for_json(f"http://127.0.0.1:{port}/control/keys")
        finally:
            process.terminate()
            process.wait(timeout=10)

    settings = dict(line.removeprefix("export ").strip().split("=", 1) for line in lines[1:])
    assert settings["ALIPAY_GATEWAY"] == f"http://127.0.0.1:{port}/gateway.do"
    assert settings["ALIPAY_PRIVATE_KEY"].startswith("@")
    assert AlipaySettings.from_settings(settings).alipay_public_key.public_numbers() == (
        AlipaySettings.from_settings(
            {**settings, "ALIPAY_PUBLIC_KEY": keys["platform_public_key"]}
        ).alipay_public_key.public_numbers()
    )


def _wait_for_json(url: str) -> dict[str, str]:
    deadline = time.monotonic() + 20
    while True:
        try:
            data: dict[str, str] = requests.get(url, timeout=2).json()["data"]
            return data
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_the_emulator_opens_an_order_string_in_process(
    gateway: AlipayGateway, clock: FrozenClock, server: EmulatorServer
) -> None:
    reference, order_string = checkout(gateway, clock, "3.00")

    snapshot = server.emulator.open(order_string)

    assert snapshot["trade_status"] == "WAIT_BUYER_PAY"
    assert snapshot["total_amount"] == "3.00"
    assert server.emulator.pay(reference)["trade_status"] == "TRADE_SUCCESS"


@pytest.mark.parametrize("field", ["subject", "body"])
@pytest.mark.parametrize("text", ["a&b", "a=b", "a/b"])
def test_the_emulator_refuses_the_characters_alipay_forbids_in_subject_and_body(
    settings: AlipaySettings,
    buyer: BrowserBuyer,
    clock: FrozenClock,
    server: EmulatorServer,
    field: str,
    text: str,
) -> None:
    reference = unique("E")
    biz = {"out_trade_no": reference, "subject": "tea", "total_amount": "1.00"} | {field: text}
    params = common_params(settings, "alipay.trade.page.pay", biz, clock.now())
    url = f"{settings.gateway_url}?{encode_query(signed_params(params, settings.private_key))}"

    page = buyer.open(url)

    assert page.status_code == 400
    assert "ACQ.INVALID_PARAMETER" in page.text
    assert server.emulator.trade(reference) is None


def test_separators_a_customer_wrote_reach_the_emulator_full_width_and_come_back_so(
    gateway: AlipayGateway, buyer: BrowserBuyer, clock: FrozenClock, shop: tuple[Shop, ServerThread]
) -> None:
    reference, order_string = checkout(gateway, clock)
    buyer.open(order_string)

    buyer.click(reference, "pay")
    (body,) = shop[0].wait_for(reference)

    assert dict(parse_qsl(body.decode()))["subject"] == "Emulator 测试 \uff06 co"
    report = gateway.parse_notification(body, {"content-type": "application/x-www-form-urlencoded"})
    assert report is not None
    assert report.status is TradeStatus.PAID
