"""WeChatPayGateway's calls against a stand-in API (``responses``): what is sent and signed,
and what of the answers is believed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
import responses
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from payments_core.errors import SignatureInvalid, VendorDeclined, VendorError, VendorUnavailable
from payments_core.inmemory import FrozenClock
from payments_core.money import Money
from payments_core.values import CheckoutRequest, TradeStatus
from payments_vendorkit.timeouts import Timeouts
from payments_wechatpay import crypto
from payments_wechatpay.gateway import WeChatPayGateway
from payments_wechatpay.settings import WeChatPaySettings
from tests.wechatpay.conftest import APPID, BASE, CERT_SERIAL, KEY_ID, MCHID, Platform, answer_json

Answer = tuple[int, dict[str, str], bytes]
REF = "P20240520051415abcdef"
NATIVE = f"{BASE}/v3/pay/transactions/native"
QUERY = f"{BASE}/v3/pay/transactions/out-trade-no/{REF}?mchid={MCHID}"
CLOSE = f"{BASE}/v3/pay/transactions/out-trade-no/{REF}/close"
CODE_URL = "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"


def checkout(clock: FrozenClock, **changes: object) -> CheckoutRequest:
    values: dict[str, object] = {
        "reference": REF,
        "amount": Money.parse("88.88"),
        "subject": "Contract 测试",
        "description": "ignored",
        "expires_at": clock.now() + timedelta(minutes=15, microseconds=999),
    }
    values.update(changes)
    return CheckoutRequest(**values)  # type: ignore[arg-type]  # the fields are the test's to vary


def add(
    rsps: responses.RequestsMock,
    platform: Platform,
    method: str,
    url: str,
    status: int = 200,
    value: object = None,
    *,
    signed: bool = True,
    changes: dict[str, str] | None = None,
) -> None:
    body = b"" if value is None else answer_json(value)
    headers = platform.headers(body, **(changes or {})) if signed else {}
    rsps.add(
        method, url, body=body, status=status, headers=headers, content_type="application/json"
    )


@responses.activate
def test_a_checkout_creates_a_signed_native_order_and_returns_its_code_url(
    gateway: WeChatPayGateway, platform: Platform, clock: FrozenClock, merchant_key: RSAPrivateKey
) -> None:
    add(responses.mock, platform, "POST", NATIVE, value={"code_url": CODE_URL})
    request = checkout(clock)

    result = gateway.open_checkout(request)

    assert result.order_string == CODE_URL
    assert result.expires_at <= request.expires_at
    assert result.expires_at.microsecond == 0
    sent = responses.calls[0].request
    body = sent.body if isinstance(sent.body, bytes) else str(sent.body).encode()
    assert json.loads(body) == {
        "appid": APPID,
        "mchid": MCHID,
        "description": "Contract 测试",
        "out_trade_no": REF,
        "time_expire": "2024-05-20T13:29:15+08:00",
        "notify_url": "https://shop.example/api/v1/payments/notify/wechatpay",
        "amount": {"total": 8888, "currency": "CNY"},
    }
    auth = crypto.parse_authorization(sent.headers["Authorization"])
    assert (auth.mchid, auth.serial_no) == (MCHID, CERT_SERIAL)
    assert auth.timestamp == str(int(clock.now().timestamp()))
    assert crypto.verify_request(
        merchant_key.public_key(), auth, "POST", "/v3/pay/transactions/native", body
    )
    assert sent.headers["Wechatpay-Serial"] == KEY_ID
    assert sent.headers["User-Agent"]


@pytest.mark.parametrize(
    "reference", ["P1234", "P" * 33, "P2024.0520", "P2024 0520", "订单号123456"]
)
def test_a_reference_that_is_no_out_trade_no_is_refused_before_sending(
    gateway: WeChatPayGateway, clock: FrozenClock, reference: str
) -> None:
    with responses.RequestsMock() as rsps, pytest.raises(VendorError) as caught:
        gateway.open_checkout(checkout(clock, reference=reference))
    assert caught.value.vendor_code == "invalid_reference"
    assert not rsps.calls


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"amount": Money.parse("1", "USD")}, "currency_not_supported"),
        ({"amount": Money(minor=0)}, "invalid_amount"),
        ({"subject": "   "}, "invalid_subject"),
        ({"subject": "bad \ud800 text"}, "invalid_text"),
    ],
)
def test_an_order_that_cannot_be_sent_is_a_vendor_error(
    gateway: WeChatPayGateway, clock: FrozenClock, changes: dict[str, object], code: str
) -> None:
    with responses.RequestsMock(), pytest.raises(VendorError) as caught:
        gateway.open_checkout(checkout(clock, **changes))
    assert caught.value.vendor_code == code


@responses.activate
def test_a_long_subject_is_cut_to_127_bytes_at_a_character_boundary(
    gateway: WeChatPayGateway, platform: Platform, clock: FrozenClock
) -> None:
    add(responses.mock, platform, "POST", NATIVE, value={"code_url": CODE_URL})
    subject = "a" + "测" * 60  # 181 bytes; byte 127 falls inside a character

    gateway.open_checkout(checkout(clock, subject=subject))

    sent = json.loads(responses.calls[0].request.body or b"")["description"]
    assert sent == "a" + "测" * 42
    assert len(sent.encode()) == 127


@pytest.mark.parametrize(
    "headers",
    [
        {"Wechatpay-Signature": "WECHATPAY/SIGNTEST/abc"},
        {"Wechatpay-Serial": "PUB_KEY_ID_0000000000000000000000000000000000"},
        {"Wechatpay-Timestamp": "1716182056"},
        {"Wechatpay-Nonce": "another"},
        {"Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"},
        {"Wechatpay-Timestamp": "-1"},
    ],
)
@responses.activate
def test_a_success_without_a_valid_signature_is_refused(
    gateway: WeChatPayGateway, platform: Platform, clock: FrozenClock, headers: dict[str, str]
) -> None:
    add(responses.mock, platform, "POST", NATIVE, value={"code_url": CODE_URL}, changes=headers)
    with pytest.raises(SignatureInvalid):
        gateway.open_checkout(checkout(clock))


@responses.activate
def test_an_unsigned_success_is_refused(
    gateway: WeChatPayGateway, platform: Platform, clock: FrozenClock
) -> None:
    add(responses.mock, platform, "GET", QUERY, value=platform.transaction(REF), signed=False)
    with pytest.raises(SignatureInvalid, match="unsigned"):
        gateway.query(REF)


@responses.activate
def test_an_answer_signed_by_another_key_is_refused(
    settings: object, clock: FrozenClock, gateway: WeChatPayGateway, merchant_key: RSAPrivateKey
) -> None:
    impostor = Platform(merchant_key, clock)  # the right key id, the wrong key
    add(responses.mock, impostor, "GET", QUERY, value=impostor.transaction(REF))
    with pytest.raises(SignatureInvalid):
        gateway.query(REF)


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("NOTPAY", TradeStatus.UNPAID),
        ("USERPAYING", TradeStatus.UNPAID),
        ("CLOSED", TradeStatus.CLOSED),
        ("REVOKED", TradeStatus.CLOSED),
        ("PAYERROR", TradeStatus.CLOSED),
    ],
)
@responses.activate
def test_unpaid_and_closed_states(
    gateway: WeChatPayGateway, platform: Platform, state: str, status: TradeStatus
) -> None:
    unpaid = {"appid": APPID, "mchid": MCHID, "out_trade_no": REF, "trade_state": state}
    add(responses.mock, platform, "GET", QUERY, value=unpaid)

    report = gateway.query(REF)

    assert (report.status, report.reference, report.vendor) == (status, REF, "wechatpay")
    assert report.trade_id is None
    assert report.merchant_matches


@pytest.mark.parametrize("state", ["SUCCESS", "REFUND"])
@responses.activate
def test_a_paid_order_reports_its_transaction_and_amount_in_fen(
    gateway: WeChatPayGateway, platform: Platform, state: str
) -> None:
    paid = platform.transaction(REF, trade_state=state, amount={"total": 30, "currency": "CNY"})
    add(responses.mock, platform, "GET", QUERY, value=paid)

    report = gateway.query(REF)

    assert report.status is TradeStatus.PAID
    assert report.trade_id == "4200002024052012345678901234"
    assert report.amount is not None
    assert report.amount.to_decimal() == Decimal("0.30")
    assert report.merchant_matches


@pytest.mark.parametrize(
    "field", [{"mchid": "1900000002"}, {"appid": "wx0000000000000000"}, {"appid": None}]
)
@responses.activate
def test_another_merchant_or_app_does_not_match(
    gateway: WeChatPayGateway, platform: Platform, field: dict[str, object]
) -> None:
    add(responses.mock, platform, "GET", QUERY, value=platform.transaction(REF, **field))
    assert not gateway.query(REF).merchant_matches


@pytest.mark.parametrize(
    "changes",
    [
        {"out_trade_no": "P20240520051415abcdeX"},
        {"trade_state": "PAID"},
        {"transaction_id": None},
        {"amount": {"total": "8888", "currency": "CNY"}},
        {"amount": {"total": 88.88, "currency": "CNY"}},
        {"amount": {"total": -1, "currency": "CNY"}},
        {"amount": {"total": 8888, "currency": "USD"}},
        {"amount": None},
    ],
)
@responses.activate
def test_a_query_answer_that_makes_no_sense_is_a_vendor_error(
    gateway: WeChatPayGateway, platform: Platform, changes: dict[str, object]
) -> None:
    add(responses.mock, platform, "GET", QUERY, value=platform.transaction(REF, **changes))
    with pytest.raises(VendorError):
        gateway.query(REF)


@responses.activate
def test_a_repeated_member_in_a_signed_answer_is_refused(
    gateway: WeChatPayGateway, platform: Platform
) -> None:
    body = answer_json(platform.transaction(REF))[:-1] + b',"trade_state":"NOTPAY"}'
    responses.add("GET", QUERY, body=body, headers=platform.headers(body))
    with pytest.raises(VendorError, match="JSON object"):
        gateway.query(REF)


@responses.activate
def test_an_unknown_order_is_unpaid_only_when_the_answer_is_signed(
    gateway: WeChatPayGateway, platform: Platform
) -> None:
    missing = {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
    add(responses.mock, platform, "GET", QUERY, 404, missing)
    assert gateway.query(REF).status is TradeStatus.UNPAID

    responses.replace("GET", QUERY, status=404, body=answer_json(missing))
    with pytest.raises(VendorDeclined) as caught:
        gateway.query(REF)
    assert caught.value.vendor_code == "ORDER_NOT_EXIST"

    responses.replace(
        "GET",
        QUERY,
        status=404,
        body=answer_json(missing),
        headers=platform.headers(b"{}"),  # a signature over another body
    )
    with pytest.raises(SignatureInvalid):
        gateway.query(REF)


@pytest.mark.parametrize(
    ("status", "code", "raised"),
    [
        (500, "SYSTEM_ERROR", VendorUnavailable),
        (502, "", VendorUnavailable),
        (429, "FREQUENCY_LIMITED", VendorUnavailable),
        (400, "PARAM_ERROR", VendorDeclined),
        (401, "SIGN_ERROR", VendorDeclined),
        (403, "NO_AUTH", VendorDeclined),
        (400, "APPID_MCHID_NOT_MATCH", VendorDeclined),
    ],
)
@responses.activate
def test_errors(
    gateway: WeChatPayGateway, platform: Platform, status: int, code: str, raised: type[Exception]
) -> None:
    add(
        responses.mock,
        platform,
        "GET",
        QUERY,
        status,
        {"code": code, "message": "x"} if code else None,
    )
    with pytest.raises(raised):
        gateway.query(REF)


@responses.activate
def test_html_instead_of_json_is_a_vendor_error(
    gateway: WeChatPayGateway, platform: Platform
) -> None:
    body = b"<html>bad gateway</html>"
    responses.add("GET", QUERY, body=body, headers=platform.headers(body))
    with pytest.raises(VendorError):
        gateway.query(REF)


@responses.activate
def test_transport_faults_are_retried_and_errors_are_not(
    gateway: WeChatPayGateway, platform: Platform
) -> None:
    responses.add("GET", QUERY, body=requests.ConnectionError("refused"))
    add(responses.mock, platform, "GET", QUERY, value=platform.transaction(REF))

    assert gateway.query(REF).status is TradeStatus.PAID
    assert len(responses.calls) == 2
    first, second = (call.request.headers["Authorization"] for call in responses.calls)
    assert first != second  # each try is signed with its own nonce

    responses.reset()
    add(responses.mock, platform, "GET", QUERY, 400, {"code": "PARAM_ERROR", "message": "x"})
    with pytest.raises(VendorDeclined):
        gateway.query(REF)
    assert len(responses.calls) == 1


@responses.activate
def test_a_gateway_that_never_answers_is_unavailable(gateway: WeChatPayGateway) -> None:
    responses.add("GET", QUERY, body=requests.ConnectTimeout("slow"))
    with pytest.raises(VendorUnavailable):
        gateway.query(REF)
    assert len(responses.calls) == 3


@responses.activate
def test_closing_answers_204(gateway: WeChatPayGateway, platform: Platform) -> None:
    add(responses.mock, platform, "POST", CLOSE, 204)

    gateway.close_attempt(REF)

    assert json.loads(responses.calls[0].request.body or b"") == {"mchid": MCHID}


@pytest.mark.parametrize("code", ["ORDER_NOT_EXIST", "ORDER_CLOSED"])
@responses.activate
def test_closing_an_unknown_or_closed_order_succeeds_when_signed(
    gateway: WeChatPayGateway, platform: Platform, code: str
) -> None:
    add(responses.mock, platform, "POST", CLOSE, 400, {"code": code, "message": "x"})
    gateway.close_attempt(REF)

    responses.replace("POST", CLOSE, status=400, body=answer_json({"code": code, "message": "x"}))
    with pytest.raises(VendorDeclined):
        gateway.close_attempt(REF)


@pytest.mark.parametrize(("status", "code"), [(400, "ORDERPAID"), (403, "TRADE_ERROR")])
@responses.activate
def test_closing_a_paid_order_is_declined(
    gateway: WeChatPayGateway, platform: Platform, status: int, code: str
) -> None:
    add(responses.mock, platform, "POST", CLOSE, status, {"code": code, "message": "订单已支付"})
    with pytest.raises(VendorDeclined) as caught:
        gateway.close_attempt(REF)
    assert caught.value.vendor_code == code


@responses.activate
def test_closing_while_the_buyer_pays_is_try_later(
    gateway: WeChatPayGateway, platform: Platform
) -> None:
    add(responses.mock, platform, "POST", CLOSE, 202, {"code": "USER_PAYING", "message": "x"})
    with pytest.raises(VendorUnavailable):
        gateway.close_attempt(REF)


@responses.activate
def test_an_unsigned_204_close_is_refused(gateway: WeChatPayGateway, platform: Platform) -> None:
    add(responses.mock, platform, "POST", CLOSE, 204, signed=False)
    with pytest.raises(SignatureInvalid):
        gateway.close_attempt(REF)


def test_secrets_are_not_in_reprs(gateway: WeChatPayGateway) -> None:
    shown = repr(gateway) + repr(gateway.settings)
    assert MCHID in shown
    assert "PRIVATE" not in shown
    assert gateway.settings.apiv3_key.decode() not in shown


@responses.activate
def test_an_error_code_that_is_not_wechats_is_not_echoed(
    gateway: WeChatPayGateway, platform: Platform
) -> None:
    add(responses.mock, platform, "GET", QUERY, 400, {"code": "X\nforged log line", "message": "m"})
    with pytest.raises(VendorDeclined) as caught:
        gateway.query(REF)
    assert caught.value.vendor_code == "http_400"


@responses.activate
def test_a_refund_and_the_query_it_needs_share_one_deadline(
    settings: WeChatPaySettings, clock: FrozenClock, platform: Platform
) -> None:
    def slowly(status: int, value: object) -> Callable[[requests.PreparedRequest], Answer]:
        def answer(_: requests.PreparedRequest) -> Answer:
            time.sleep(0.6)
            body = answer_json(value)
            return status, platform.headers(body), body

        return answer

    refund = {
        "out_trade_no": REF,
        "out_refund_no": "R1",
        "status": "SUCCESS",
        "amount": {"refund": 100},
    }
    responses.add_callback("GET", QUERY, slowly(200, platform.transaction(REF)))
    responses.add_callback("POST", f"{BASE}/v3/refund/domestic/refunds", slowly(200, refund))
    slow = WeChatPayGateway(
        settings,
        timeouts=Timeouts(connect=1.0, read=1.0, retries=0, total=1.0),
        session=requests.Session(),
        clock=clock.now,
    )
    started = time.monotonic()
    with pytest.raises(VendorUnavailable):
        slow.refund(REF, "R1", Money.parse("1"), None)
    assert time.monotonic() - started < 1.1  # each call alone fits in the second; both do not
    slow.close()
