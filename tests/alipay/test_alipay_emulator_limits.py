"""The emulator bounds every count, delay and size it accepts, and everything it keeps.

It runs inside ``payments serve --demo``, reachable by anyone who reaches the demo, so
its control API and gateway must not be a way to make it hold unbounded memory or time.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from payments_alipay import AlipayGateway, AlipaySettings
from payments_alipay.emulator import (
    AlipayEmulator,
    EmulatorServer,
    Notifier,
    OutgoingNotification,
    TradeError,
)
from payments_alipay.emulator.limits import MAX_REQUEST_BYTES
from payments_core.inmemory import FrozenClock
from payments_core.money import Money
from payments_core.testing import unique
from payments_core.values import CheckoutRequest
from tests.alipay.conftest import APP_ID

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(clock: FrozenClock) -> Iterator[EmulatorServer]:
    with EmulatorServer(resend_factor=0.001, clock=clock.now) as running:
        yield running


@pytest.fixture(scope="module")
def settings(server: EmulatorServer, app_key: RSAPrivateKey) -> AlipaySettings:
    return AlipaySettings.from_settings(
        server.merchant_settings(app_id=APP_ID, private_key=app_key)
    )


@pytest.fixture
def emulator(server: EmulatorServer) -> Iterator[AlipayEmulator]:
    server.emulator.reset()
    yield server.emulator
    server.emulator.reset()


def _order_string(settings: AlipaySettings, clock: FrozenClock) -> str:
    request = CheckoutRequest(
        reference=unique("L"),
        amount=Money.parse("1.00"),
        subject="limits",
        description=None,
        expires_at=clock.now() + timedelta(minutes=15),
    )
    return AlipayGateway(settings, clock=clock.now).open_checkout(request).order_string


def _fail_next(server: EmulatorServer, body: bytes) -> requests.Response:
    return requests.post(
        f"{server.url}/control/fail-next",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "500", "count": 20_000_000},
        {"mode": "500", "count": 100_000_000},
        {"mode": "500", "count": 10**400},
        {"mode": "500", "count": 101},
        {"mode": "500", "count": 0},
        {"mode": "500", "count": -1},
        {"mode": "500", "count": 1.5},
        {"mode": "500", "count": "5"},
        {"mode": "500", "count": True},
        {"mode": "timeout", "seconds": 61},
        {"mode": "timeout", "seconds": -1},
        {"mode": "timeout", "seconds": 1e308},
        {"mode": "timeout", "seconds": 10**400},
        {"mode": "timeout", "seconds": "2"},
        {"mode": "500", "method": "alipay.trade.pay"},
        {"mode": "explode"},
        {},
    ],
    ids=lambda body: json.dumps(body)[:48],
)
def test_fail_next_refuses_what_is_out_of_range_and_queues_nothing(
    server: EmulatorServer, emulator: AlipayEmulator, body: dict[str, object]
) -> None:
    started = time.monotonic()
    answer = _fail_next(server, json.dumps(body).encode())

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_request"
    assert emulator.failures.waiting() == 0
    assert time.monotonic() - started < 5  # refused before building anything


@pytest.mark.parametrize("literal", [b"Infinity", b"NaN", b"-Infinity"])
def test_fail_next_refuses_non_finite_seconds(
    server: EmulatorServer, emulator: AlipayEmulator, literal: bytes
) -> None:
    answer = _fail_next(server, b'{"mode": "timeout", "seconds": ' + literal + b"}")

    assert answer.status_code == 400, answer.text
    assert emulator.failures.waiting() == 0


def test_queued_failures_are_bounded_in_total_until_a_reset(
    server: EmulatorServer, emulator: AlipayEmulator
) -> None:
    full = [_fail_next(server, b'{"mode": "500", "count": 100}') for _ in range(10)]
    refused = _fail_next(server, b'{"mode": "500"}')
    requests.post(f"{server.url}/control/reset", timeout=10)
    again = _fail_next(server, b'{"mode": "500"}')

    assert [r.status_code for r in full] == [200] * 10
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "emulator_full"
    assert again.status_code == 200
    assert emulator.failures.waiting() == 1


def test_the_python_api_bounds_fail_next_too(emulator: AlipayEmulator) -> None:
    with pytest.raises(ValueError, match="count"):
        emulator.fail_next("500", count=20_000_000)
    with pytest.raises(ValueError, match="seconds"):
        emulator.fail_next("timeout", seconds=float("inf"))

    assert emulator.failures.waiting() == 0


@pytest.mark.parametrize(
    "path",
    ["/control/fail-next", "/control/trades/x/pay", "/gateway.do", "/pay/x"],
)
def test_a_body_over_64_kib_is_413_or_ignored_never_read_whole(
    server: EmulatorServer, emulator: AlipayEmulator, path: str
) -> None:
    answer = requests.post(
        f"{server.url}{path}",
        data=b"a=" + b"x" * MAX_REQUEST_BYTES,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )

    expected = 404 if path == "/pay/x" else 413  # the cashier form of an unknown trade
    assert answer.status_code == expected, answer.text[:200]


def test_a_query_string_over_64_kib_is_refused(server: EmulatorServer) -> None:
    answer = requests.get(f"{server.url}/gateway.do?a={'x' * MAX_REQUEST_BYTES}", timeout=10)

    assert 400 <= answer.status_code < 500, answer.text[:200]  # uvicorn's own limit is lower


@pytest.mark.parametrize("path", ["/control/fail-next", "/control/trades/x/pay"])
def test_deeply_nested_json_is_400_not_500(server: EmulatorServer, path: str) -> None:
    answer = requests.post(
        f"{server.url}{path}",
        data=b"[" * 50_000,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )

    assert answer.status_code == 400, answer.text[:200]


@pytest.mark.parametrize(
    "override",
    [
        {"total_amount": "9" * 65},
        {"total_amount": [1]},
        {"seller_id": {"a": 1}},
        {"seller_id": ""},
    ],
    ids=lambda body: json.dumps(body)[:40],
)
def test_pay_overrides_are_short_text_only(
    server: EmulatorServer,
    emulator: AlipayEmulator,
    settings: AlipaySettings,
    clock: FrozenClock,
    override: dict[str, object],
) -> None:
    reference = emulator.open(_order_string(settings, clock))["out_trade_no"]

    answer = requests.post(
        f"{server.url}/control/trades/{reference}/pay", json=override, timeout=10
    )

    assert answer.status_code == 400, answer.text
    assert emulator.trade(str(reference))["trade_status"] == "WAIT_BUYER_PAY"  # type: ignore[index]  # the trade exists: it was just made


def test_the_trade_book_keeps_a_bounded_number_of_trades(
    emulator: AlipayEmulator,
    settings: AlipaySettings,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("payments_alipay.emulator.trades.MAX_TRADES", 3)
    for _ in range(3):
        emulator.open(_order_string(settings, clock))

    with pytest.raises(TradeError, match="at most 3 trades"):
        emulator.open(_order_string(settings, clock))

    emulator.reset()
    emulator.open(_order_string(settings, clock))
    assert len(emulator.trades.all()) == 1


def test_a_trade_with_an_overlong_notify_url_is_refused(
    emulator: AlipayEmulator, settings: AlipaySettings, clock: FrozenClock
) -> None:
    long_notify = dataclasses.replace(settings, notify_url="http://127.0.0.1:9/" + "n" * 600)

    with pytest.raises(TradeError, match="notify_url"):
        emulator.open(_order_string(long_notify, clock))

    assert emulator.trades.all() == []


def test_pending_notifications_are_bounded_and_a_reset_drops_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("payments_alipay.emulator.notifier.MAX_PENDING_NOTIFICATIONS", 2)
    notifier = Notifier(factor=1000.0, timeout=1.0)  # the next attempt is days away
    records: list[dict[str, object]] = []
    notifications = [
        OutgoingNotification(url="http://127.0.0.1:9/notify", body="a=1", record=records.append)
        for _ in range(3)
    ]
    try:
        for notification in notifications:
            notifier.send(notification)
        deadline = time.monotonic() + 10
        while len(records) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)

        assert notifier.pending() == 2
        assert [r for r in records if r.get("dropped")], records
        notifier.clear()
        assert notifier.pending() == 0
    finally:
        notifier.stop()


@pytest.mark.parametrize(
    "option", [{"resend_factor": float("nan")}, {"resend_factor": -1.0}, {"notify_timeout": 1e9}]
)
def test_the_emulator_refuses_unbounded_settings(option: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(option))):
        AlipayEmulator(**option)  # type: ignore[arg-type]  # one keyword per case, each a float


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "1e9"])
def test_the_emulator_command_refuses_an_unbounded_resend_factor(value: str) -> None:
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "payments_alipay.emulator", "--port", "9", "--resend-factor", value],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert "--resend-factor must be from 0 to 1000" in done.stderr
    assert "Traceback" not in done.stderr
