"""Refund and refund query against a mocked gateway: what is sent, and every answer's meaning.

FAILED frees a refund's amount to be refunded again, so these tests hold the gateway to
calling FAILED only what Alipay refused for good in a signed answer; anything it may
still pay out is PENDING, or an error that leaves the refund to be sent again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
import responses
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from payments_alipay import canonical_string, verify_rsa2
from payments_alipay.emulator import signed_answer
from payments_alipay.signing import REQUEST_EXCLUDED
from payments_core.errors import SignatureInvalid, VendorDeclined, VendorError, VendorUnavailable
from payments_core.money import Money
from payments_core.values import RefundReport, RefundState
from tests.alipay.conftest import APP_ID, GatewayFactory

URL = "https://openapi.alipay.com/gateway.do"
REFUND = "alipay.trade.refund"
QUERY = "alipay.trade.fastpay.refund.query"
REF, RREF = "T20240520000001", "R20240520000001"
AMOUNT = Money(1230)


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


Answer = Callable[..., bytes]


@pytest.fixture
def answer(platform_key: RSAPrivateKey) -> Answer:
    def make(method: str, node: dict[str, object], *, sign: bool = True) -> bytes:
        return signed_answer(method, node, platform_key, sign=sign).encode("utf-8")

    return make


def refunded(**extra: object) -> dict[str, object]:
    node: dict[str, object] = {
        "code": "10000",
        "msg": "Success",
        "out_trade_no": REF,
        "trade_no": "2024052022001400001234567890",
        "buyer_logon_id": "tes***@example.com",
        "fund_change": "Y",
        "refund_fee": "12.30",
        "gmt_refund_pay": "2024-05-20 13:20:00",
    }
    return node | extra


def found(**extra: object) -> dict[str, object]:
    node: dict[str, object] = {
        "code": "10000",
        "msg": "Success",
        "out_trade_no": REF,
        "trade_no": "2024052022001400001234567890",
        "out_request_no": RREF,
        "total_amount": "88.88",
        "refund_amount": "12.30",
        "refund_status": "REFUND_SUCCESS",
    }
    return node | extra


def nothing() -> dict[str, object]:
    """What Alipay answers a refund query about a refund it never had."""
    return {"code": "10000", "msg": "Success"}


def refused(sub_code: str, code: str = "40004") -> dict[str, object]:
    msg = "Business Failed" if code == "40004" else "Invalid Arguments"
    node: dict[str, object] = {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": "失败"}
    return node | {"refund_fee": "0.00", "send_back_fee": "0.00"}


def report(state: RefundState, **fields: Any) -> RefundReport:
    return RefundReport(
        vendor="alipay", reference=REF, refund_reference=RREF, state=state, **fields
    )


def sent(call: Any) -> dict[str, str]:
    return dict(parse_qsl(call.request.body, strict_parsing=True))


def test_a_refund_sends_the_attempt_the_refund_number_the_amount_and_the_reason_signed(
    mocked: responses.RequestsMock,
    answer: Answer,
    make_gateway: GatewayFactory,
    app_public: RSAPublicKey,
) -> None:
    mocked.post(URL, body=answer(REFUND, refunded()))

    make_gateway().refund(REF, RREF, AMOUNT, "  customer returned the tea  ")

    params = sent(mocked.calls[0])
    assert params["method"] == REFUND
    assert params["app_id"] == APP_ID
    assert json.loads(params["biz_content"]) == {
        "out_trade_no": REF,
        "out_request_no": RREF,
        "refund_amount": "12.30",
        "refund_reason": "customer returned the tea",
    }
    assert verify_rsa2(app_public, canonical_string(params, REQUEST_EXCLUDED), params["sign"])


def test_a_refund_without_a_reason_sends_none_and_whole_yuan_keep_two_decimals(
    mocked: responses.RequestsMock, answer: Answer, make_gateway: GatewayFactory
) -> None:
    mocked.post(URL, body=answer(REFUND, refunded(refund_fee="30.00")))

    make_gateway().refund(REF, RREF, Money(3000), None)

    biz = json.loads(sent(mocked.calls[0])["biz_content"])
    assert biz == {"out_trade_no": REF, "out_request_no": RREF, "refund_amount": "30.00"}


def test_fund_change_y_is_a_succeeded_refund_of_the_amount_sent(
    mocked: responses.RequestsMock, answer: Answer, make_gateway: GatewayFactory
) -> None:
    mocked.post(URL, body=answer(REFUND, refunded(refund_fee="20.00")))  # the trade's total

    assert make_gateway().refund(REF, RREF, AMOUNT, None) == report(
        RefundState.SUCCEEDED, amount=AMOUNT
    )


@pytest.mark.parametrize("fund_change", ["N", None, "y", ""])
def test_any_other_success_asks_the_refund_query_which_can_say_it_was_paid_earlier(
    mocked: responses.RequestsMock,
    answer: Answer,
    make_gateway: GatewayFactory,
    fund_change: str | None,
) -> None:
    node = refunded(fund_change=fund_change)
    if fund_change is None:
        del node["fund_change"]
    mocked.post(URL, body=answer(REFUND, node))
    mocked.post(URL, body=answer(QUERY, found()))

    result = make_gateway().refund(REF, RREF, AMOUNT, None)

    assert result == report(RefundState.SUCCEEDED, amount=AMOUNT)
    assert json.loads(sent(mocked.calls[1])["biz_content"]) == {
        "out_trade_no": REF,
        "out_request_no": RREF,
    }


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(nothing(), id="not found"),
        pytest.param(found(refund_status="REFUND_PROCESSING"), id="another status"),
    ],
)
def test_fund_change_n_that_the_query_does_not_confirm_is_pending(
    mocked: responses.RequestsMock,
    answer: Answer,
    make_gateway: GatewayFactory,
    query: dict[str, object],
) -> None:
    mocked.post(URL, body=answer(REFUND, refunded(fund_change="N")))
    mocked.post(URL, body=answer(QUERY, query))

    assert make_gateway().refund(REF, RREF, AMOUNT, None) == report(RefundState.PENDING)


def test_fund_change_n_stays_pending_when_the_query_gets_no_answer(
    mocked: responses.RequestsMock, answer: Answer, make_gateway: GatewayFactory
) -> None:
    mocked.post(URL, body=answer(REFUND, refunded(fund_change="N")))
    mocked.post(URL, status=502)

    assert make_gateway().refund(REF, RREF, AMOUNT, None) == report(RefundState.PENDING)


FINAL = [
    "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
    "ACQ.REASON_TRADE_REFUND_FEE_ERR",
    "ACQ.TRADE_STATUS_ERROR",
    "ACQ.TRADE_NOT_EXIST",
    "ACQ.TRADE_HAS_FINISHED",
    "ACQ.TRADE_HAS_CLOSE",
    "ACQ.REASON_TRADE_BEEN_FREEZEN",
    "ACQ.INVALID_PARAMETER",
    "ACQ.SOMETHING_NEW",
]


@pytest.mark.parametrize("sub_code", FINAL)
def test_a_signed_business_refusal_is_failed_with_alipays_code(
    mocked: responses.RequestsMock, answer: Answer, make_gateway: GatewayFactory, sub_code: str
) -> None:
    mocked.post(URL, body=answer(REFUND, refused(sub_code)))

    result = make_gateway().refund(REF, RREF, AMOUNT, None)

    assert result == report(RefundState.FAILED, failure=sub_code)


@pytest.mark.parametrize(
    ("sub_code", "code"),
    [
        ("ACQ.SYSTEM_ERROR", "40004"),
        ("AQC.SYSTEM_ERROR", "40004"),
        ("ACQ.SELLER_BALANCE_NOT_ENOUGH", "40004"),
        ("isp.unknow-error", "20000"),
        ("aop.unknow-error", "20000"),
    ],
)
def test_what_alipay_asks_to_send_again_later_is_unavailable_not_failed(
    mocked: responses.RequestsMock,
    answer: Answer,
    make_gateway: GatewayFactory,
    sub_code: str,
    code: str,
) -> None:
    mocked.post(URL, body=answer(REFUND, refused(sub_code, code)))

    with pytest.raises(VendorUnavailable):
        make_gateway().refund(REF, RREF, AMOUNT, None)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_5xx_is_unavailable(
    mocked: responses.RequestsMock, make_gateway: GatewayFactory, status: int
) -> None:
    mocked.post(URL, status=status)

    with pytest.raises(VendorUnavailable):
        make_gateway().refund(REF, RREF, AMOUNT, None)


def test_timeouts_are_retried_with_the_same_refund_number_then_unavailable(
    mocked: responses.RequestsMock, make_gateway: GatewayFactory
) -> None:
    for _ in range(3):
        mocked.post(URL, body=requests.ReadTimeout("slow"))

    with pytest.raises(VendorUnavailable):
        make_gateway().refund(REF, RREF, AMOUNT, None)

    numbers = {json.loads(sent(call)["biz_content"])["out_request_no"] for call in mocked.calls}
    assert numbers == {RREF}


@pytest.mark.parametrize(
    ("sub_code", "code"),
    [
        ("isv.invalid-signature", "40002"),
        ("isv.invalid-app-id", "40002"),
        ("isv.missing-signature", "40001"),
        ("isv.insufficient-isv-permissions", "40006"),
    ],
)
def test_a_refused_call_is_declined_not_a_failed_refund(
    mocked: responses.RequestsMock,
    answer: Answer,
    make_gateway: GatewayFactory,
    sub_code: str,
    code: str,
) -> None:
    """Alipay never judged the refund (keys, app id, permission): it may be sent again."""
    mocked.post(URL, body=answer(REFUND, refused(sub_code, code)))

    with pytest.raises(VendorDeclined) as caught:
        make_gateway().refund(REF, RREF, AMOUNT, None)
    assert caught.value.vendor_code == sub_code


def test_an_unsigned_refusal_never_fails_a_refund(
    mocked: responses.RequestsMock, answer: Answer, make_gateway: GatewayFactory
) -> None:
    mocked.post(URL, body=answer(REFUND, refused("ACQ.TRADE_STATUS_ERROR"), sign=False))

    with pytest.raises(VendorDeclined):
        make_gateway().refund(REF, RREF, AMOUNT, None)


def test_an_unsigned_or_forged_success_is_refused(
    mocked: responses.RequestsMock, answer: Answer, make_gateway: GatewayFactory
) -> None:
    mocked.post(URL, body=answer(REFUND, refunded(), sign=False))
    genuine = answer(REFUND, refunded(refund_fee="0.01")).decode()
    mocked.post(URL, body=genuine.replace('"0.01"', '"12.30"'))

    for _ in range(2):
        with pytest.raises(SignatureInvalid):
            make_gateway().refund(REF, RREF, AMOUNT, None)


def test_a_repeated_refund_number_with_other_content_asks_whether_it_was_paid(
    mocked: responses.RequestsMock, answer: Answer, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway()
    mocked.post(URL, body=answer(REFUND, refused("ACQ.DISCORDANT_REPEAT_REQUEST")))
    mocked.post(URL, body=answer(QUERY, found(refund_amount="10.00")))
    mocked.post(URL, body=answer(REFUND, refused("ACQ.DISCORDANT_REPEAT_REQUEST")))
    mocked.post(URL, body=answer(QUERY, nothing()))

    paid = gateway.refund(REF, RREF, AMOUNT, None)
    unpaid = gateway.refund(REF, RREF, AMOUNT, None)

    assert paid == report(RefundState.SUCCEEDED, amount=Money(1000))  # what Alipay paid
    assert unpaid == report(RefundState.FAILED, failure="ACQ.DISCORDANT_REPEAT_REQUEST")


def test_a_repeated_refund_number_stays_unsettled_when_the_query_gets_no_answer(
    mocked: responses.RequestsMock, answer: Answer, make_gateway: GatewayFactory
) -> None:
    mocked.post(URL, body=answer(REFUND, refused("ACQ.DISCORDANT_REPEAT_REQUEST")))
    mocked.post(URL, status=503)

    with pytest.raises(VendorUnavailable):
        make_gateway(retries=0).refund(REF, RREF, AMOUNT, None)


@pytest.mark.parametrize(
    "node",
    [
        pytest.param(refunded(out_trade_no="T_OTHER"), id="another trade"),
        pytest.param(refunded(refund_fee=12.3), id="a JSON number"),
        pytest.param(refunded(refund_fee="12.305"), id="three decimals"),
        pytest.param(refunded(refund_fee="-12.30"), id="negative"),
        pytest.param(refunded(refund_fee="1.23e1"), id="exponent"),
        pytest.param(refunded(refund_fee="NaN"), id="NaN"),
        pytest.param(refunded(refund_fee="\uff11\uff12.\uff13\uff10"), id="full-width digits"),
        pytest.param(refunded(refund_fee=" 12.30"), id="space"),
        pytest.param(refunded(refund_fee=None), id="null"),
        pytest.param(refunded(refund_fee="12.29"), id="less than this refund"),
    ],
)
def test_a_success_that_makes_no_sense_is_a_vendor_error(
    mocked: responses.RequestsMock,
    answer: Answer,
    make_gateway: GatewayFactory,
    node: dict[str, object],
) -> None:
    mocked.post(URL, body=answer(REFUND, node))

    with pytest.raises(VendorError) as caught:
        make_gateway().refund(REF, RREF, AMOUNT, None)
    assert not isinstance(caught.value, VendorUnavailable | VendorDeclined)


@pytest.mark.parametrize(
    ("reference", "refund_reference", "amount"),
    [
        (REF, RREF, Money(1230, "USD")),
        (REF, RREF, Money(0)),
        ("T-1", RREF, AMOUNT),
        (REF, "R/../1", AMOUNT),
        (REF, "R" * 65, AMOUNT),
        (REF, "", AMOUNT),
    ],
)
def test_a_refund_alipay_cannot_take_is_refused_before_anything_is_sent(
    mocked: responses.RequestsMock,
    make_gateway: GatewayFactory,
    reference: str,
    refund_reference: str,
    amount: Money,
) -> None:
    with pytest.raises(VendorError):
        make_gateway().refund(reference, refund_reference, amount, None)
    assert len(mocked.calls) == 0


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        pytest.param(found(), report(RefundState.SUCCEEDED, amount=AMOUNT), id="REFUND_SUCCESS"),
        pytest.param(
            {k: v for k, v in found().items() if k != "refund_status"},
            report(RefundState.SUCCEEDED, amount=AMOUNT),
            id="no status, but the refund's number and amount",
        ),
        pytest.param(
            found(refund_status=""),
            report(RefundState.SUCCEEDED, amount=AMOUNT),
            id="an empty status is no status",
        ),
        pytest.param(nothing(), report(RefundState.NOT_FOUND), id="10000 and nothing else"),
        pytest.param(
            refused("ACQ.TRADE_NOT_EXIST"), report(RefundState.NOT_FOUND), id="no such trade"
        ),
        pytest.param(
            found(refund_status="REFUND_PROCESSING"), report(RefundState.PENDING), id="other"
        ),
    ],
)
def test_the_refund_query_maps_alipays_answer(
    mocked: responses.RequestsMock,
    answer: Answer,
    make_gateway: GatewayFactory,
    node: dict[str, object],
    expected: RefundReport,
) -> None:
    mocked.post(URL, body=answer(QUERY, node))

    assert make_gateway().query_refund(REF, RREF) == expected
    params = sent(mocked.calls[0])
    assert params["method"] == QUERY
    assert json.loads(params["biz_content"]) == {"out_trade_no": REF, "out_request_no": RREF}


@pytest.mark.parametrize(
    "node",
    [
        pytest.param(found(out_request_no="R_OTHER"), id="another refund"),
        pytest.param(found(out_trade_no="T_OTHER"), id="another trade"),
        pytest.param(found(refund_amount=12.3), id="a JSON number"),
        pytest.param(found(refund_amount="0.00"), id="zero"),
        pytest.param(found(refund_amount="12,30"), id="garbage"),
        pytest.param(found(refund_amount=None), id="success without an amount"),
        pytest.param(
            {k: v for k, v in found().items() if k not in ("refund_status", "refund_amount")},
            id="half an answer",
        ),
    ],
)
def test_a_refund_query_answer_that_makes_no_sense_is_a_vendor_error(
    mocked: responses.RequestsMock,
    answer: Answer,
    make_gateway: GatewayFactory,
    node: dict[str, object],
) -> None:
    mocked.post(URL, body=answer(QUERY, node))

    with pytest.raises(VendorError) as caught:
        make_gateway().query_refund(REF, RREF)
    assert not isinstance(caught.value, VendorUnavailable | VendorDeclined)


def test_an_unsigned_not_found_is_refused_and_a_system_error_is_unavailable(
    mocked: responses.RequestsMock, answer: Answer, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway()
    mocked.post(URL, body=answer(QUERY, nothing(), sign=False))
    mocked.post(URL, body=answer(QUERY, refused("ACQ.SYSTEM_ERROR")))

    with pytest.raises(SignatureInvalid):
        gateway.query_refund(REF, RREF)
    with pytest.raises(VendorUnavailable):
        gateway.query_refund(REF, RREF)
