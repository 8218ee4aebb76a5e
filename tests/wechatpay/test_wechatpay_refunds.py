"""Refunds and refund queries against a stand-in API (``responses``)."""

from __future__ import annotations

import json

import pytest
import responses

from payments_core.errors import SignatureInvalid, VendorError, VendorUnavailable
from payments_core.money import Money
from payments_core.values import RefundState
from payments_wechatpay.gateway import WeChatPayGateway
from tests.wechatpay.conftest import BASE, MCHID, Platform, answer_json

REF = "P20240520051415abcdef"
REFUND_REF = "R20240520000001"
QUERY = f"{BASE}/v3/pay/transactions/out-trade-no/{REF}?mchid={MCHID}"
REFUNDS = f"{BASE}/v3/refund/domestic/refunds"
REFUND_QUERY = f"{REFUNDS}/{REFUND_REF}"


def refund(
    status: str = "PROCESSING", changes: dict[str, object] | None = None
) -> dict[str, object]:
    value: dict[str, object] = {
        "refund_id": "50000000382019052709732678859",
        "out_refund_no": REFUND_REF,
        "transaction_id": "4200002024052012345678901234",
        "out_trade_no": REF,
        "channel": "ORIGINAL",
        "status": status,
        "amount": {
            "total": 8888,
            "refund": 1000,
            "payer_total": 8888,
            "payer_refund": 1000,
            "currency": "CNY",
        },
    }
    value.update(changes or {})
    return value


def add(
    platform: Platform, method: str, url: str, status: int, value: object, *, signed: bool = True
) -> None:
    body = answer_json(value)
    responses.add(
        method, url, status=status, body=body, headers=platform.headers(body) if signed else {}
    )


@responses.activate
def test_a_refund_sends_the_amounts_in_fen_with_the_order_total(
    gateway: WeChatPayGateway, platform: Platform
) -> None:
    add(platform, "GET", QUERY, 200, platform.transaction(REF))
    add(platform, "POST", REFUNDS, 200, refund())

    report = gateway.refund(REF, REFUND_REF, Money.parse("10.00"), "  退货 " + "x" * 200)

    assert (report.reference, report.refund_reference, report.state) == (
        REF,
        REFUND_REF,
        RefundState.PENDING,
    )
    assert report.amount == Money.parse("10.00")
    sent = json.loads(responses.calls[1].request.body or b"")
    assert sent["out_trade_no"] == REF
    assert sent["out_refund_no"] == REFUND_REF
    assert sent["amount"] == {"refund": 1000, "total": 8888, "currency": "CNY"}
    assert sent["notify_url"].endswith("/notify/wechatpay")
    assert sent["reason"].startswith("退货 x")
    assert len(sent["reason"].encode()) <= 80


@pytest.mark.parametrize(
    ("status", "state", "failure"),
    [
        ("SUCCESS", RefundState.SUCCEEDED, None),
        ("PROCESSING", RefundState.PENDING, None),
        ("ABNORMAL", RefundState.FAILED, "ABNORMAL"),
        ("CLOSED", RefundState.FAILED, "CLOSED"),
    ],
)
@responses.activate
def test_refund_states(
    gateway: WeChatPayGateway,
    platform: Platform,
    status: str,
    state: RefundState,
    failure: str | None,
) -> None:
    add(platform, "GET", REFUND_QUERY, 200, refund(status))

    report = gateway.query_refund(REF, REFUND_REF)

    assert (report.state, report.failure) == (state, failure)


@responses.activate
def test_a_refund_of_an_unpaid_order_fails_without_being_sent(
    gateway: WeChatPayGateway, platform: Platform
) -> None:
    add(
        platform,
        "GET",
        QUERY,
        200,
        {"appid": "x", "mchid": MCHID, "out_trade_no": REF, "trade_state": "NOTPAY"},
    )

    report = gateway.refund(REF, REFUND_REF, Money.parse("1"), None)

    assert (report.state, report.failure) == (RefundState.FAILED, "ORDER_NOT_PAID")
    assert len(responses.calls) == 1


@responses.activate
def test_a_signed_refusal_is_a_failed_refund_and_an_unsigned_one_proves_nothing(
    gateway: WeChatPayGateway, platform: Platform
) -> None:
    add(platform, "GET", QUERY, 200, platform.transaction(REF))
    add(platform, "POST", REFUNDS, 403, {"code": "NOTENOUGH", "message": "余额不足"})
    report = gateway.refund(REF, REFUND_REF, Money.parse("1"), None)
    assert (report.state, report.failure) == (RefundState.FAILED, "NOTENOUGH")

    responses.replace("POST", REFUNDS, status=403, body=answer_json({"code": "NOTENOUGH"}))
    with pytest.raises(VendorError) as caught:
        gateway.refund(REF, REFUND_REF, Money.parse("1"), None)
    assert caught.value.vendor_code == "NOTENOUGH"


@responses.activate
def test_a_refund_wechat_cannot_decide_now_may_be_sent_again(
    gateway: WeChatPayGateway, platform: Platform
) -> None:
    add(platform, "GET", QUERY, 200, platform.transaction(REF))
    add(platform, "POST", REFUNDS, 500, {"code": "SYSTEM_ERROR", "message": "x"})
    with pytest.raises(VendorUnavailable):
        gateway.refund(REF, REFUND_REF, Money.parse("1"), None)


@responses.activate
def test_an_unknown_refund_is_not_found_only_when_signed(
    gateway: WeChatPayGateway, platform: Platform
) -> None:
    missing = {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"}
    add(platform, "GET", REFUND_QUERY, 404, missing)
    assert gateway.query_refund(REF, REFUND_REF).state is RefundState.NOT_FOUND

    responses.replace("GET", REFUND_QUERY, status=404, body=answer_json(missing))
    with pytest.raises(VendorError):
        gateway.query_refund(REF, REFUND_REF)


@pytest.mark.parametrize(
    "changes",
    [
        {"out_refund_no": "R20240520000002"},
        {"out_trade_no": "P20240520051415abcdeX"},
        {"status": "UNKNOWN"},
        {"amount": {"refund": "1000"}},
    ],
)
@responses.activate
def test_a_refund_answer_that_makes_no_sense_is_a_vendor_error(
    gateway: WeChatPayGateway, platform: Platform, changes: dict[str, object]
) -> None:
    add(platform, "GET", REFUND_QUERY, 200, refund(changes=changes))
    with pytest.raises(VendorError):
        gateway.query_refund(REF, REFUND_REF)


@responses.activate
def test_a_forged_refund_answer_is_refused(gateway: WeChatPayGateway, platform: Platform) -> None:
    body = answer_json(refund("SUCCESS"))
    responses.add("GET", REFUND_QUERY, body=body, headers=platform.headers(b"{}"))
    with pytest.raises(SignatureInvalid):
        gateway.query_refund(REF, REFUND_REF)


@pytest.mark.parametrize("refund_reference", ["", "R" * 65, "R 1", "退款1"])
def test_a_refund_reference_that_is_no_out_refund_no_is_refused(
    gateway: WeChatPayGateway, refund_reference: str
) -> None:
    with responses.RequestsMock() as rsps, pytest.raises(VendorError):
        gateway.refund(REF, refund_reference, Money.parse("1"), None)
    assert not rsps.calls
