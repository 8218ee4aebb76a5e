"""The WeChat Pay emulator over real HTTP, driven by the independent SDK ``wechatpayv3``.

The SDK signs its requests and verifies the emulator's answers and notifications with
its own code, so these tests hold the emulator to WeChat Pay's protocol as another
implementation reads it, not as ours does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from payments_core.inmemory import FrozenClock
from payments_core.testing import unique
from payments_wechatpay.emulator import EmulatorServer
from payments_wechatpay.emulator.fields import rfc3339
from tests.wechatpay.emulator_support import (
    APPID,
    MCHID,
    Merchant,
    Receiver,
    merchant,
    merchant_key,
    receiver,
    shop,
)

pytestmark = pytest.mark.integration
__all__ = ["merchant", "merchant_key", "receiver", "shop"]  # fixtures


@pytest.fixture(scope="module")
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture(scope="module")
def server(clock: FrozenClock) -> Iterator[EmulatorServer]:
    with EmulatorServer(resend_factor=0.001, clock=clock.now) as running:
        yield running


def _no() -> str:
    return unique("WX")[:32]


def _pay(merchant: Merchant, out_trade_no: str, **fake: object) -> requests.Response:
    return requests.post(
        f"{merchant.base}/control/transactions/{out_trade_no}/pay", json=fake, timeout=10
    )


def _opened(merchant: Merchant, total: int = 100) -> str:
    number = _no()
    code, answer = merchant.sdk.pay(
        description="Green tea", out_trade_no=number, amount={"total": total}
    )
    assert code == 200, answer
    return number


def test_a_native_order_answers_a_signed_code_url_and_the_same_order_again_the_same(
    merchant: Merchant, shop: Receiver
) -> None:
    number = _no()

    first = merchant.sdk.pay(description="Green tea", out_trade_no=number, amount={"total": 88})
    again = merchant.sdk.pay(description="Green tea", out_trade_no=number, amount={"total": 88})
    other = merchant.sdk.pay(description="Green tea", out_trade_no=number, amount={"total": 89})

    assert first[0] == 200  # the SDK raises when the answer's signature does not verify
    assert json.loads(first[1])["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    assert again == first
    assert other[0] == 403
    assert json.loads(other[1])["code"] == "OUT_TRADE_NO_USED"


def test_query_close_and_pay_follow_the_trade_states(merchant: Merchant, shop: Receiver) -> None:
    unpaid, paid = _opened(merchant), _opened(merchant, total=1999)

    assert _pay(merchant, paid).status_code == 200
    code, answer = merchant.sdk.query(out_trade_no=paid)
    closed = merchant.sdk.close(out_trade_no=unpaid)
    refused = merchant.sdk.close(out_trade_no=paid)
    after_close = json.loads(merchant.sdk.query(out_trade_no=unpaid)[1])
    late = _pay(merchant, unpaid)

    state = json.loads(answer)
    assert code == 200
    assert state["trade_state"] == "SUCCESS"
    assert state["amount"] == {
        "total": 1999,
        "payer_total": 1999,
        "currency": "CNY",
        "payer_currency": "CNY",
    }
    assert state["transaction_id"].startswith("4200")
    assert (state["mchid"], state["appid"], state["out_trade_no"]) == (MCHID, APPID, paid)
    assert closed[0] == 204
    assert refused[0] == 400
    assert json.loads(refused[1])["code"] == "ORDERPAID"
    assert after_close["trade_state"] == "CLOSED"
    assert "transaction_id" not in after_close
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "ORDER_CLOSED"


def test_an_order_never_paid_queries_notpay_and_an_unknown_one_is_order_not_exist(
    merchant: Merchant, shop: Receiver
) -> None:
    number = _opened(merchant)

    known = merchant.sdk.query(out_trade_no=number)
    unknown = merchant.call("GET", f"/v3/pay/transactions/out-trade-no/{_no()}?mchid={MCHID}")

    assert json.loads(known[1])["trade_state"] == "NOTPAY"
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "ORDER_NOT_EXIST"
    assert merchant.verified(unknown)  # a business error is signed: it was our request


def test_closing_an_order_nobody_scanned_or_nobody_made_answers_204(
    merchant: Merchant, shop: Receiver
) -> None:
    unknown = _no()

    answer = merchant.call(
        "POST", f"/v3/pay/transactions/out-trade-no/{unknown}/close", {"mchid": MCHID}
    )

    assert answer.status_code == 204
    assert answer.content == b""
    assert merchant.verified(answer)
    assert merchant.sdk.query(out_trade_no=unknown)[0] == 404  # closing made nothing


def test_a_payment_notifies_with_a_resource_the_sdk_verifies_and_decrypts(
    merchant: Merchant, shop: Receiver
) -> None:
    number = _opened(merchant, total=321)

    _pay(merchant, number)
    note = shop.wait_for(1)[0]
    parsed = merchant.sdk.callback(note.headers, note.body)

    assert parsed is not None, "the SDK refused the notification"
    assert parsed["event_type"] == "TRANSACTION.SUCCESS"
    assert parsed["resource_type"] == "encrypt-resource"
    resource = parsed["resource"]
    assert resource["trade_state"] == "SUCCESS"
    assert (resource["mchid"], resource["appid"], resource["out_trade_no"]) == (
        MCHID,
        APPID,
        number,
    )
    assert resource["amount"]["total"] == 321
    assert note.headers["wechatpay-serial"] == merchant.settings["WECHATPAY_PUBLIC_KEY_ID"]
    assert note.headers["content-type"] == "application/json"


def test_control_pay_can_fake_what_the_notification_reports(
    merchant: Merchant, shop: Receiver
) -> None:
    number = _opened(merchant, total=500)

    _pay(merchant, number, payer_total=1, mchid="1900000999", appid="wxother")
    resource = merchant.sdk.callback(shop.wait_for(1)[0].headers, shop.wait_for(1)[0].body)

    assert resource is not None
    assert resource["resource"]["amount"]["total"] == 1
    assert resource["resource"]["mchid"] == "1900000999"
    assert resource["resource"]["appid"] == "wxother"


def test_refunds_are_capped_idempotent_and_notified(merchant: Merchant, shop: Receiver) -> None:
    number = _opened(merchant, total=1000)
    _pay(merchant, number)
    shop.wait_for(1)

    first = merchant.sdk.refund(
        out_refund_no="R1" + number,
        amount={"refund": 600, "total": 1000, "currency": "CNY"},
        out_trade_no=number,
    )
    repeated = merchant.sdk.refund(
        out_refund_no="R1" + number,
        amount={"refund": 600, "total": 1000, "currency": "CNY"},
        out_trade_no=number,
    )
    too_much = merchant.sdk.refund(
        out_refund_no="R2" + number,
        amount={"refund": 401, "total": 1000, "currency": "CNY"},
        out_trade_no=number,
    )
    rest = merchant.sdk.refund(
        out_refund_no="R3" + number,
        amount={"refund": 400, "total": 1000, "currency": "CNY"},
        out_trade_no=number,
    )
    queried = merchant.sdk.query_refund(out_refund_no="R1" + number)
    trade = json.loads(merchant.sdk.query(out_trade_no=number)[1])

    assert first[0] == 200
    assert json.loads(first[1])["status"] == "SUCCESS"
    assert json.loads(repeated[1])["refund_id"] == json.loads(first[1])["refund_id"]
    assert too_much[0] == 400
    assert json.loads(too_much[1])["code"] == "INVALID_REQUEST"
    assert rest[0] == 200
    assert json.loads(queried[1])["amount"]["refund"] == 600
    assert trade["trade_state"] == "REFUND"
    notes = shop.wait_for(3)[1:]
    resources = [merchant.sdk.callback(n.headers, n.body) for n in notes]
    assert [r["event_type"] for r in resources if r] == ["REFUND.SUCCESS", "REFUND.SUCCESS"]
    assert sorted(r["resource"]["amount"]["refund"] for r in resources if r) == [400, 600]


def test_a_refund_of_an_unpaid_or_unknown_order_or_a_wrong_total_is_refused(
    merchant: Merchant, shop: Receiver
) -> None:
    unpaid, paid = _opened(merchant), _opened(merchant, total=50)
    _pay(merchant, paid)
    amount = {"refund": 10, "total": 50, "currency": "CNY"}

    not_paid = merchant.sdk.refund(out_refund_no=_no(), amount=amount, out_trade_no=unpaid)
    unknown = merchant.sdk.refund(out_refund_no=_no(), amount=amount, out_trade_no=_no())
    wrong_total = merchant.sdk.refund(
        out_refund_no=_no(), amount={**amount, "total": 49}, out_trade_no=paid
    )
    no_refund = merchant.sdk.query_refund(out_refund_no=_no())

    assert json.loads(not_paid[1])["code"] == "INVALID_REQUEST"
    assert (unknown[0], json.loads(unknown[1])["code"]) == (404, "RESOURCE_NOT_EXISTS")
    assert json.loads(wrong_total[1])["code"] == "INVALID_REQUEST"
    assert (no_refund[0], json.loads(no_refund[1])["code"]) == (404, "RESOURCE_NOT_EXISTS")


def test_a_processing_refund_settles_through_the_control_api(
    merchant: Merchant, shop: Receiver
) -> None:
    number = _opened(merchant, total=300)
    _pay(merchant, number)
    requests.post(f"{merchant.base}/control/refund-mode", json={"status": "PROCESSING"}, timeout=5)
    amount = {"refund": 300, "total": 300, "currency": "CNY"}

    held = merchant.sdk.refund(out_refund_no="H" + number, amount=amount, out_trade_no=number)
    closed = requests.post(
        f"{merchant.base}/control/refunds/H{number}/finish", json={"status": "CLOSED"}, timeout=5
    )
    again = merchant.sdk.refund(out_refund_no="J" + number, amount=amount, out_trade_no=number)

    assert json.loads(held[1])["status"] == "PROCESSING"
    assert closed.json()["data"]["status"] == "CLOSED"
    assert json.loads(again[1])["status"] == "PROCESSING"  # a closed refund gave its 300 back
    events = [merchant.sdk.callback(n.headers, n.body) for n in shop.wait_for(2)[1:]]
    assert [e["event_type"] for e in events if e] == ["REFUND.CLOSED"]


def test_an_order_expires_at_its_time_expire(
    merchant: Merchant, shop: Receiver, clock: FrozenClock
) -> None:
    number = _no()
    expire = rfc3339(clock.now() + timedelta(minutes=1))
    code, _ = merchant.sdk.pay(
        description="Tea", out_trade_no=number, amount={"total": 10}, time_expire=expire
    )
    before = json.loads(merchant.sdk.query(out_trade_no=number)[1])["trade_state"]

    clock.advance(timedelta(minutes=1))
    after = json.loads(merchant.sdk.query(out_trade_no=number)[1])["trade_state"]
    paid = _pay(merchant, number)

    assert code == 200
    assert (before, after) == ("NOTPAY", "CLOSED")
    assert paid.json()["error"]["code"] == "ORDER_CLOSED"
    reorder = merchant.sdk.pay(description="Tea", out_trade_no=number, amount={"total": 10})
    assert json.loads(reorder[1])["code"] == "ORDER_CLOSED"
