"""Refunds through the gateway and the emulator over real HTTP, and the emulator's other
Alipay behaviours an independent check with the Python SDKs asked for: TRADE_CLOSED
notifications, trade_no lookups, timeout_express, the expiry window, passback_params."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from payments_alipay import AlipayGateway, AlipaySettings, Timeouts
from payments_alipay._checkout import alipay_time, common_params
from payments_alipay.emulator import EmulatorServer, ServerThread
from payments_alipay.signing import encode_query, signed_params
from payments_core.errors import SignatureInvalid, VendorError, VendorUnavailable
from payments_core.inmemory import FrozenClock
from payments_core.money import Money
from payments_core.testing import unique
from payments_core.values import (
    CheckoutRequest,
    RefundReport,
    RefundState,
    TradeReport,
    TradeStatus,
)
from tests.alipay.conftest import APP_ID, read
from tests.alipay.emulator_fixtures import Shop, frozen_now

pytestmark = pytest.mark.integration
FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
FACTOR = 0.0005


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
    return AlipaySettings.from_settings(raw)


@pytest.fixture(scope="module")
def gateway(settings: AlipaySettings, clock: FrozenClock) -> Iterator[AlipayGateway]:
    gateway = AlipayGateway(
        settings, timeouts=Timeouts(connect=1, read=1, retries=0), clock=clock.now
    )
    yield gateway
    gateway.close()


@pytest.fixture(scope="module")
def receiver(shop: tuple[Shop, ServerThread]) -> Shop:
    return shop[0]


def paid_trade(
    gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock, amount: str = "66.60"
) -> str:
    """An attempt opened at the cashier and paid, its payment notification received."""
    reference = unique("E")
    request = CheckoutRequest(
        reference=reference,
        amount=Money.parse(amount),
        subject="tea",
        description=None,
        expires_at=clock.now() + timedelta(minutes=15),
    )
    server.emulator.open(gateway.open_checkout(request).order_string)
    server.emulator.pay(reference)
    return reference


def notifications(receiver: Shop, gateway: AlipayGateway, reference: str, count: int) -> list[Any]:
    return [gateway.parse_notification(b, FORM) for b in receiver.wait_for(reference, count)]


def refund_of(reference: str, refund_reference: str, state: RefundState, **more: Any) -> Any:
    return RefundReport(
        vendor="alipay",
        reference=reference,
        refund_reference=refund_reference,
        state=state,
        **more,
    )


def test_partial_refunds_add_up_and_the_last_one_closes_the_trade(
    gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock, receiver: Shop
) -> None:
    reference = paid_trade(gateway, server, clock)
    first, last = unique("R"), unique("R")

    partial = gateway.refund(reference, first, Money.parse("10.00"), "one cup broken")
    asked = gateway.query_refund(reference, first)
    rest = gateway.refund(reference, last, Money.parse("56.60"), None)

    assert partial == refund_of(reference, first, RefundState.SUCCEEDED, amount=Money(1000))
    assert asked == refund_of(reference, first, RefundState.SUCCEEDED, amount=Money(1000))
    assert rest == refund_of(reference, last, RefundState.SUCCEEDED, amount=Money(5660))
    assert gateway.query(reference).status is TradeStatus.CLOSED
    paid, *refunds = notifications(receiver, gateway, reference, 3)
    assert isinstance(paid, TradeReport)
    assert paid.status is TradeStatus.PAID
    assert refunds == [
        refund_of(reference, first, RefundState.SUCCEEDED),
        refund_of(reference, last, RefundState.SUCCEEDED),
    ]
    bodies = [dict(parse_qsl(b.decode())) for b in receiver.wait_for(reference, 3)[1:]]
    assert [(b["trade_status"], b["refund_fee"]) for b in bodies] == [
        ("TRADE_SUCCESS", "10.00"),
        ("TRADE_CLOSED", "66.60"),
    ]
    trade = server.emulator.trade(reference)
    assert trade is not None
    assert [r["refund_amount"] for r in trade["refunds"]] == ["10.00", "56.60"]  # type: ignore[attr-defined]  # snapshots are untyped


def test_sending_one_refund_again_pays_it_out_once_and_says_it_succeeded(
    gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock, receiver: Shop
) -> None:
    reference, number = paid_trade(gateway, server, clock), unique("R")

    first = gateway.refund(reference, number, Money(500), None)
    again = gateway.refund(reference, number, Money(500), None)

    assert first == again == refund_of(reference, number, RefundState.SUCCEEDED, amount=Money(500))
    trade = server.emulator.trade(reference)
    assert trade is not None
    assert len(trade["refunds"]) == 1  # type: ignore[arg-type]  # snapshots are untyped
    assert len(receiver.wait_for(reference, 2)) == 2
    assert len(receiver.bodies[reference]) == 2  # no notification for the repeat


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("66.61", "ACQ.REASON_TRADE_REFUND_FEE_ERR"),
        ("100.00", "ACQ.REASON_TRADE_REFUND_FEE_ERR"),
    ],
)
def test_more_than_was_paid_is_refused_for_good(
    gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock, amount: str, code: str
) -> None:
    reference = paid_trade(gateway, server, clock)
    gateway.refund(reference, unique("R"), Money(1), None)
    number = unique("R")

    refused = gateway.refund(reference, number, Money.parse(amount), None)

    assert refused == refund_of(reference, number, RefundState.FAILED, failure=code)
    assert gateway.query_refund(reference, number).state is RefundState.NOT_FOUND


def test_an_unpaid_or_unknown_trade_cannot_be_refunded(
    gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock
) -> None:
    unpaid = unique("E")
    request = CheckoutRequest(
        reference=unpaid,
        amount=Money(100),
        subject="tea",
        description=None,
        expires_at=clock.now() + timedelta(minutes=15),
    )
    server.emulator.open(gateway.open_checkout(request).order_string)

    assert gateway.refund(unpaid, unique("R"), Money(100), None).failure == "ACQ.TRADE_STATUS_ERROR"
    assert gateway.refund(unique("E"), unique("R"), Money(1), None).failure == "ACQ.TRADE_NOT_EXIST"


def test_a_trade_paid_a_faked_amount_that_is_no_amount_is_refused_not_an_error(
    gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock
) -> None:
    reference = unique("E")
    request = CheckoutRequest(
        reference=reference,
        amount=Money(100),
        subject="tea",
        description=None,
        expires_at=clock.now() + timedelta(minutes=15),
    )
    server.emulator.open(gateway.open_checkout(request).order_string)
    server.emulator.pay(reference, total_amount="abc")

    report = gateway.refund(reference, unique("R"), Money(100), None)

    assert report.failure == "ACQ.TRADE_STATUS_ERROR"


def test_one_refund_number_with_another_amount_reports_what_was_paid_under_it(
    gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock
) -> None:
    reference, number = paid_trade(gateway, server, clock), unique("R")
    gateway.refund(reference, number, Money(300), None)

    report = gateway.refund(reference, number, Money(400), None)

    assert report == refund_of(reference, number, RefundState.SUCCEEDED, amount=Money(300))


def test_a_refund_never_asked_for_is_not_found(
    gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock
) -> None:
    reference = paid_trade(gateway, server, clock)

    assert gateway.query_refund(reference, unique("R")).state is RefundState.NOT_FOUND
    assert gateway.query_refund(unique("E"), unique("R")).state is RefundState.NOT_FOUND


def _fail_next(server: EmulatorServer, mode: str, method: str) -> None:
    body = {"mode": mode, "method": method, "seconds": 1.5}
    answer = requests.post(f"{server.url}/control/fail-next", json=body, timeout=5)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("500", VendorUnavailable),
        ("timeout", VendorUnavailable),
        ("system-error", VendorUnavailable),
        ("html", VendorError),
        ("bad-signature", SignatureInvalid),
        ("unsigned", SignatureInvalid),
    ],
)
def test_a_faulty_refund_call_pays_nothing_and_the_same_refund_later_pays_once(
    gateway: AlipayGateway,
    server: EmulatorServer,
    clock: FrozenClock,
    mode: str,
    error: type[Exception],
) -> None:
    reference, number = paid_trade(gateway, server, clock), unique("R")
    _fail_next(server, mode, "alipay.trade.refund")

    with pytest.raises(error):
        gateway.refund(reference, number, Money(700), None)
    nothing = server.emulator.trade(reference)
    later = gateway.refund(reference, number, Money(700), None)

    assert nothing is not None
    assert nothing["refunds"] == []
    assert later == refund_of(reference, number, RefundState.SUCCEEDED, amount=Money(700))


def test_a_refund_whose_answer_is_lost_is_paid_and_sending_it_again_says_so(
    gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock
) -> None:
    reference, number = paid_trade(gateway, server, clock), unique("R")
    _fail_next(server, "lost-answer", "alipay.trade.refund")

    with pytest.raises(VendorUnavailable):
        gateway.refund(reference, number, Money(700), None)
    again = gateway.refund(reference, number, Money(700), None)

    assert again == refund_of(reference, number, RefundState.SUCCEEDED, amount=Money(700))
    trade = server.emulator.trade(reference)
    assert trade is not None
    assert len(trade["refunds"]) == 1  # type: ignore[arg-type]  # snapshots are untyped


def test_a_faulty_refund_query_is_an_error_not_an_answer(
    gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock
) -> None:
    reference = paid_trade(gateway, server, clock)
    _fail_next(server, "bad-signature", "alipay.trade.fastpay.refund.query")
    _fail_next(server, "500", "alipay.trade.fastpay.refund.query")

    with pytest.raises(SignatureInvalid):
        gateway.query_refund(reference, unique("R"))
    with pytest.raises(VendorUnavailable):
        gateway.query_refund(reference, unique("R"))


def test_refund_notifications_are_resent_until_the_shop_says_success(
    gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock, receiver: Shop
) -> None:
    reference = paid_trade(gateway, server, clock)
    receiver.wait_for(reference)
    receiver.replies[reference] = ["failure", "failure"]

    gateway.refund(reference, unique("R"), Money(100), None)
    bodies = receiver.wait_for(reference, 4)

    assert bodies[1] == bodies[2] == bodies[3]  # one notification, sent three times
    assert "out_biz_no" in dict(parse_qsl(bodies[1].decode()))


def test_closing_a_trade_notifies_trade_closed(
    gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock, receiver: Shop
) -> None:
    reference = unique("E")
    request = CheckoutRequest(
        reference=reference,
        amount=Money(100),
        subject="tea",
        description=None,
        expires_at=clock.now() + timedelta(minutes=15),
    )
    server.emulator.open(gateway.open_checkout(request).order_string)

    gateway.close_attempt(reference)

    (closed,) = notifications(receiver, gateway, reference, 1)
    assert closed == TradeReport(
        vendor="alipay",
        reference=reference,
        status=TradeStatus.CLOSED,
        trade_id=closed.trade_id,
    )
    assert closed.trade_id


def test_a_trade_that_expires_is_notified_closed(
    gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock, receiver: Shop
) -> None:
    reference, start = unique("E"), frozen_now()
    request = CheckoutRequest(
        reference=reference,
        amount=Money(100),
        subject="tea",
        description=None,
        expires_at=clock.now() + timedelta(minutes=1),
    )
    server.emulator.open(gateway.open_checkout(request).order_string)
    clock.advance(timedelta(minutes=1))
    try:
        status = gateway.query(reference).status  # the emulator sees the time when asked
    finally:
        clock.advance(start.now() - clock.now())

    assert status is TradeStatus.CLOSED
    (closed,) = notifications(receiver, gateway, reference, 1)
    assert closed.status is TradeStatus.CLOSED


def _call(settings: AlipaySettings, clock: FrozenClock, method: str, biz: dict[str, str]) -> Any:
    pairs = signed_params(common_params(settings, method, biz, clock.now()), settings.private_key)
    answer = requests.post(settings.gateway_url, data=pairs, timeout=5)
    return answer.json()[method.replace(".", "_") + "_response"]


def test_query_close_and_refund_find_a_trade_by_trade_no_alone(
    gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock, settings: AlipaySettings
) -> None:
    reference = paid_trade(gateway, server, clock)
    trade_no = gateway.query(reference).trade_id
    assert trade_no

    queried = _call(settings, clock, "alipay.trade.query", {"trade_no": trade_no})
    refunded = _call(
        settings,
        clock,
        "alipay.trade.refund",
        {"trade_no": trade_no, "refund_amount": "66.60", "out_request_no": "R1"},
    )
    unknown = _call(settings, clock, "alipay.trade.query", {"trade_no": "2099" + trade_no[4:]})
    neither = _call(settings, clock, "alipay.trade.query", {})

    assert (queried["out_trade_no"], queried["trade_status"]) == (reference, "TRADE_SUCCESS")
    assert (refunded["fund_change"], refunded["out_trade_no"]) == ("Y", reference)
    assert unknown["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    assert neither["sub_code"] == "ACQ.INVALID_PARAMETER"


def test_a_refund_without_out_request_no_must_be_the_whole_amount(
    gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock, settings: AlipaySettings
) -> None:
    reference = paid_trade(gateway, server, clock)

    part = _call(
        settings, clock, "alipay.trade.refund", {"out_trade_no": reference, "refund_amount": "1"}
    )
    whole = _call(
        settings,
        clock,
        "alipay.trade.refund",
        {"out_trade_no": reference, "refund_amount": "66.60"},
    )

    assert part["sub_code"] == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
    assert (whole["fund_change"], whole["refund_fee"]) == ("Y", "66.60")


def _page_pay(
    settings: AlipaySettings, clock: FrozenClock, reference: str, **biz: str
) -> requests.Response:
    content = {
        "out_trade_no": reference,
        "product_code": "FAST_INSTANT_TRADE_PAY",
        "subject": "tea",
        "total_amount": "1.00",
        **biz,
    }
    params = common_params(settings, "alipay.trade.page.pay", content, clock.now())
    params["notify_url"] = settings.notify_url
    query = encode_query(signed_params(params, settings.private_key))
    return requests.get(f"{settings.gateway_url}?{query}", timeout=5)


@pytest.mark.parametrize(
    ("timeout_express", "minutes"),
    [("1m", 1), ("90m", 90), ("2h", 120), ("15d", 15 * 24 * 60)],
)
def test_timeout_express_closes_the_trade_that_long_after_it_was_created(
    server: EmulatorServer,
    clock: FrozenClock,
    settings: AlipaySettings,
    timeout_express: str,
    minutes: int,
) -> None:
    reference = unique("E")

    page = _page_pay(settings, clock, reference, timeout_express=timeout_express)

    assert page.status_code == 200, page.text
    trade = server.emulator.trade(reference)
    assert trade is not None
    assert trade["time_expire"] == alipay_time(clock.now() + timedelta(minutes=minutes))


def test_time_expire_wins_over_timeout_express(
    server: EmulatorServer, clock: FrozenClock, settings: AlipaySettings
) -> None:
    reference, expire = unique("E"), alipay_time(clock.now() + timedelta(minutes=5))

    _page_pay(settings, clock, reference, timeout_express="2h", time_expire=expire)

    trade = server.emulator.trade(reference)
    assert trade is not None
    assert trade["time_expire"] == expire


@pytest.mark.parametrize(
    "biz",
    [
        pytest.param({"timeout_express": "0m"}, id="0m"),
        pytest.param({"timeout_express": "16d"}, id="16d"),
        pytest.param({"timeout_express": "1.5h"}, id="1.5h"),
        pytest.param({"timeout_express": "2c"}, id="2c"),
        pytest.param({"timeout_express": "90"}, id="no unit"),
        pytest.param({"time_expire": "+59s"}, id="time_expire under a minute away"),
        pytest.param({"time_expire": "+15d1s"}, id="time_expire over 15 days away"),
    ],
)
def test_an_expiry_outside_one_minute_to_fifteen_days_is_refused(
    server: EmulatorServer, clock: FrozenClock, settings: AlipaySettings, biz: dict[str, str]
) -> None:
    offsets = {"+59s": timedelta(seconds=59), "+15d1s": timedelta(days=15, seconds=1)}
    if "time_expire" in biz:
        biz = {"time_expire": alipay_time(clock.now() + offsets[biz["time_expire"]])}
    reference = unique("E")

    page = _page_pay(settings, clock, reference, **biz)

    assert page.status_code == 400
    assert "ACQ.INVALID_PARAMETER" in page.text
    assert server.emulator.trade(reference) is None


def test_passback_params_come_back_in_the_notification(
    server: EmulatorServer, clock: FrozenClock, settings: AlipaySettings, receiver: Shop
) -> None:
    reference = unique("E")
    _page_pay(settings, clock, reference, passback_params="merchantBizType%3Dtea")

    server.emulator.pay(reference)

    (body,) = receiver.wait_for(reference)
    assert dict(parse_qsl(body.decode()))["passback_params"] == "merchantBizType%3Dtea"


def test_the_index_page_and_the_control_api_show_refunds(
    gateway: AlipayGateway, server: EmulatorServer, clock: FrozenClock
) -> None:
    reference, number = paid_trade(gateway, server, clock), unique("R")
    gateway.refund(reference, number, Money(250), "broken <cup>")

    page = requests.get(f"{server.url}/", timeout=5)
    shown = requests.get(f"{server.url}/control/trades/{reference}", timeout=5).json()["data"]

    assert f"refund {number}: 2.50 CNY" in page.text
    assert shown["refunds"] == [
        {
            "out_request_no": number,
            "refund_amount": "2.50",
            "refund_reason": "broken <cup>",
            "gmt_refund": shown["refunds"][0]["gmt_refund"],
        }
    ]
    assert json.dumps(shown)  # JSON-ready
