"""Trade query and close against a mocked gateway: every mapping and every fault.

Each fault ends in the documented error, and the gateway stays usable: the next
call, answered normally, gives the normal result (no state is kept or changed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
import responses
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from payments_alipay.emulator import signed_answer
from payments_core.errors import SignatureInvalid, VendorDeclined, VendorError, VendorUnavailable
from payments_core.money import Money
from payments_core.ports import Closeable
from payments_core.values import TradeStatus
from tests.alipay.conftest import SELLER_ID, GatewayFactory

URL = "https://openapi.alipay.com/gateway.do"
QUERY = "alipay.trade.query"
CLOSE = "alipay.trade.close"
REF = "T20240520000001"


@pytest.fixture
def mocked() -> Any:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def answer(platform_key: RSAPrivateKey) -> Callable[..., bytes]:
    def make(method: str = QUERY, **node: str) -> bytes:
        return signed_answer(method, node, platform_key).encode("utf-8")

    return make


def paid(**extra: str) -> dict[str, str]:
    node = {"code": "10000", "msg": "Success", "out_trade_no": REF, "trade_no": "2024T1"}
    return {**node, "trade_status": "TRADE_SUCCESS", "total_amount": "88.88", **extra}


def business_error(sub_code: str, code: str = "40004") -> dict[str, str]:
    return {
        "code": code,
        "msg": "Business Failed",
        "sub_code": sub_code,
        "sub_msg": "失败",
        "out_trade_no": REF,
    }


@pytest.mark.parametrize(
    ("node", "status"),
    [
        (
            {
                "code": "10000",
                "msg": "Success",
                "out_trade_no": REF,
                "trade_status": "WAIT_BUYER_PAY",
            },
            TradeStatus.UNPAID,
        ),
        (business_error("ACQ.TRADE_NOT_EXIST"), TradeStatus.UNPAID),
        (
            {
                "code": "10000",
                "msg": "Success",
                "out_trade_no": REF,
                "trade_status": "TRADE_CLOSED",
            },
            TradeStatus.CLOSED,
        ),
        (paid(), TradeStatus.PAID),
        (paid(trade_status="TRADE_FINISHED"), TradeStatus.PAID),
    ],
)
def test_query_maps_the_trade_status(
    mocked: Any,
    answer: Callable[..., bytes],
    make_gateway: GatewayFactory,
    node: dict[str, str],
    status: TradeStatus,
) -> None:
    mocked.post(URL, body=answer(**node))

    report = make_gateway().query(REF)

    assert report.status is status
    assert report.reference == REF
    assert report.vendor == "alipay"


def test_a_paid_trade_reports_trade_no_amount_and_matching_merchant(
    mocked: Any, answer: Callable[..., bytes], make_gateway: GatewayFactory
) -> None:
    mocked.post(URL, body=answer(**paid(total_amount="0.30", seller_id=SELLER_ID)))

    report = make_gateway().query(REF)

    assert report.trade_id == "2024T1"
    assert report.amount == Money(30)
    assert report.merchant_matches


def test_a_paid_trade_of_another_seller_does_not_match_the_merchant(
    mocked: Any, answer: Callable[..., bytes], make_gateway: GatewayFactory
) -> None:
    mocked.post(URL, body=answer(**paid(seller_id="2088999999999999")))

    assert not make_gateway().query(REF).merchant_matches


@pytest.mark.parametrize(
    ("node", "error", "code"),
    [
        (paid(out_trade_no="OTHER"), VendorError, "wrong_trade"),
        (paid(trade_status="TRADE_PENDING"), VendorError, "unknown_trade_status"),
        (paid(total_amount="88.888"), VendorError, "invalid_amount"),
        (paid(trade_no=""), VendorError, "missing_trade_no"),
        (business_error("ACQ.INVALID_PARAMETER"), VendorDeclined, "ACQ.INVALID_PARAMETER"),
        (business_error("isv.invalid-app-id", "40002"), VendorDeclined, "isv.invalid-app-id"),
        (business_error("isv.invalid-signature", "40002"), VendorDeclined, "isv.invalid-signature"),
        (business_error("ACQ.SYSTEM_ERROR"), VendorUnavailable, "unavailable"),
        (
            {
                "code": "20000",
                "msg": "Service Currently Unavailable",
                "sub_code": "isp.unknow-error",
            },
            VendorUnavailable,
            "unavailable",
        ),
    ],
)
def test_a_verified_but_unusable_query_answer_is_the_right_vendor_error(
    mocked: Any,
    answer: Callable[..., bytes],
    make_gateway: GatewayFactory,
    node: dict[str, str],
    error: type[VendorError],
    code: str,
) -> None:
    mocked.post(URL, body=answer(**node))

    with pytest.raises(error) as raised:
        make_gateway().query(REF)

    assert type(raised.value) is error
    assert raised.value.vendor_code == code


FAULTS: list[tuple[str, dict[str, Any], type[VendorError]]] = [
    ("timeout", {"body": requests.ReadTimeout("read timed out")}, VendorUnavailable),
    ("connect timeout", {"body": requests.ConnectTimeout("connect timed out")}, VendorUnavailable),
    (
        "connection refused",
        {"body": requests.ConnectionError("[Errno 111] Connection refused")},
        VendorUnavailable,
    ),
    ("HTTP 500", {"status": 500, "body": "Internal Server Error"}, VendorUnavailable),
    ("HTTP 502", {"status": 502, "body": "<html>bad gateway</html>"}, VendorUnavailable),
    ("HTTP 404", {"status": 404, "body": "not found"}, VendorError),
    (
        "HTML instead of JSON",
        {"body": "<html><body>系统繁忙</body></html>", "content_type": "text/html"},
        VendorError,
    ),
    ("empty body", {"body": ""}, VendorError),
    (
        "JSON without the node",
        {"body": '{"other_response":{"code":"10000"},"sign":"x"}'},
        VendorError,
    ),
    ("invalid UTF-8", {"body": b'{"alipay_trade_query_response":{"msg":"\xff"}}'}, VendorError),
]


@pytest.mark.parametrize(("what", "reply", "error"), FAULTS, ids=[f[0] for f in FAULTS])
@pytest.mark.parametrize("method", [QUERY, CLOSE])
def test_a_transport_fault_or_garbage_ends_in_the_right_error_and_changes_nothing(
    mocked: Any,
    answer: Callable[..., bytes],
    make_gateway: GatewayFactory,
    what: str,
    reply: dict[str, Any],
    error: type[VendorError],
    method: str,
) -> None:
    gateway = make_gateway(retries=1)
    retried = error is VendorUnavailable and isinstance(reply["body"], Exception)
    for _ in range(2 if retried else 1):
        mocked.post(URL, **reply)
    call = gateway.query if method == QUERY else gateway.close_attempt

    with pytest.raises(error) as raised:
        call(REF)

    assert isinstance(raised.value, error)
    assert "sign" not in str(raised.value)
    assert "biz_content" not in str(raised.value)
    mocked.replace(responses.POST, URL, body=answer(method, **paid()))
    if method == QUERY:
        assert gateway.query(REF).status is TradeStatus.PAID
    else:
        gateway.close_attempt(REF)  # raises nothing


def test_transport_faults_are_retried_a_bounded_number_of_times(
    mocked: Any, make_gateway: GatewayFactory
) -> None:
    mocked.post(URL, body=requests.ConnectionError("refused"))
    mocked.post(URL, body=requests.ConnectionError("refused"))
    mocked.post(URL, body=requests.ConnectionError("refused"))

    with pytest.raises(VendorUnavailable, match="connection failed"):
        make_gateway(retries=2).query(REF)

    assert len(mocked.calls) == 3


def test_a_retry_after_a_transport_fault_can_succeed(
    mocked: Any, answer: Callable[..., bytes], make_gateway: GatewayFactory
) -> None:
    mocked.post(URL, body=requests.ReadTimeout("slow"))
    mocked.post(URL, body=answer(**paid()))

    assert make_gateway(retries=1).query(REF).status is TradeStatus.PAID


def test_business_errors_and_http_errors_are_not_retried(
    mocked: Any, answer: Callable[..., bytes], make_gateway: GatewayFactory
) -> None:
    mocked.post(URL, status=500)

    with pytest.raises(VendorUnavailable):
        make_gateway(retries=3).query(REF)

    assert len(mocked.calls) == 1


@pytest.mark.parametrize("method", [QUERY, CLOSE])
def test_a_bad_response_signature_is_signature_invalid(
    mocked: Any, platform_key: RSAPrivateKey, make_gateway: GatewayFactory, method: str
) -> None:
    mocked.post(URL, body=signed_answer(method, paid(), platform_key, tamper=True))

    with pytest.raises(SignatureInvalid):
        (make_gateway().query if method == QUERY else make_gateway().close_attempt)(REF)


def test_an_answer_signed_by_the_apps_own_key_is_signature_invalid(
    mocked: Any, app_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    mocked.post(URL, body=signed_answer(QUERY, paid(), app_key))

    with pytest.raises(SignatureInvalid):
        make_gateway().query(REF)


def test_an_unsigned_success_is_never_believed(
    mocked: Any, platform_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    mocked.post(URL, body=signed_answer(QUERY, paid(), platform_key, sign=False))

    with pytest.raises(SignatureInvalid, match="without a signature"):
        make_gateway().query(REF)


def test_an_unsigned_not_exist_is_a_failure_not_an_unpaid_trade(
    mocked: Any, platform_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    body = signed_answer(QUERY, business_error("ACQ.TRADE_NOT_EXIST"), platform_key, sign=False)
    mocked.post(URL, body=body)

    with pytest.raises(VendorDeclined, match="unsigned"):
        make_gateway().query(REF)


def test_an_unsigned_gateway_error_response_is_a_failure(
    mocked: Any, make_gateway: GatewayFactory
) -> None:
    body = '{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id"}}'
    mocked.post(URL, body=body)

    with pytest.raises(VendorDeclined) as raised:
        make_gateway().query(REF)

    assert raised.value.vendor_code == "isv.invalid-app-id"


def test_a_spliced_answer_with_the_node_twice_is_refused(
    mocked: Any, answer: Callable[..., bytes], make_gateway: GatewayFactory
) -> None:
    genuine = answer(**business_error("ACQ.TRADE_NOT_EXIST")).decode()
    spliced = (
        genuine[:-1]
        + ',"alipay_trade_query_response":{"code":"10000","trade_status":"TRADE_SUCCESS"}}'
    )
    mocked.post(URL, body=spliced)

    with pytest.raises(VendorError, match="not Alipay JSON"):
        make_gateway().query(REF)


def test_an_escaped_slash_in_the_signed_node_still_verifies(
    mocked: Any, platform_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    body = signed_answer(QUERY, paid(buyer_logon_id="a/b"), platform_key).replace("a/b", "a\\/b")
    mocked.post(URL, body=body)

    assert make_gateway().query(REF).status is TradeStatus.PAID


@pytest.mark.parametrize(
    "node",
    [
        {"code": "10000", "msg": "Success", "out_trade_no": REF},
        business_error("ACQ.TRADE_NOT_EXIST"),
    ],
)
def test_close_succeeds_for_an_open_or_unknown_trade(
    mocked: Any, answer: Callable[..., bytes], make_gateway: GatewayFactory, node: dict[str, str]
) -> None:
    mocked.post(URL, body=answer(CLOSE, **node))

    make_gateway().close_attempt(REF)  # raises nothing


def test_closing_an_already_closed_trade_succeeds(
    mocked: Any, answer: Callable[..., bytes], make_gateway: GatewayFactory
) -> None:
    mocked.post(URL, body=answer(CLOSE, **business_error("ACQ.TRADE_STATUS_ERROR")))
    closed = {
        "code": "10000",
        "msg": "Success",
        "out_trade_no": REF,
        "trade_status": "TRADE_CLOSED",
    }
    mocked.post(URL, body=answer(QUERY, **closed))

    make_gateway().close_attempt(REF)  # raises nothing


def test_closing_a_paid_trade_is_declined(
    mocked: Any, answer: Callable[..., bytes], make_gateway: GatewayFactory
) -> None:
    mocked.post(URL, body=answer(CLOSE, **business_error("ACQ.TRADE_STATUS_ERROR")))
    mocked.post(URL, body=answer(QUERY, **paid()))

    with pytest.raises(VendorDeclined) as raised:
        make_gateway().close_attempt(REF)

    assert raised.value.vendor_code == "ACQ.TRADE_STATUS_ERROR"


def test_a_reference_alipay_cannot_take_is_refused_before_any_call(
    make_gateway: GatewayFactory,
) -> None:
    with pytest.raises(VendorError, match="out_trade_no"):
        make_gateway().query("no/slashes")


def test_closing_the_gateway_releases_its_session_and_asks_alipay_nothing(
    mocked: Any, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway()

    gateway.close()

    assert isinstance(gateway, Closeable)
    assert len(mocked.calls) == 0
