"""The emulator refuses what WeChat Pay refuses: forged, stale or malformed requests and fields."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from payments_core.testing import unique
from payments_vendorkit.emulation.limits import MAX_REQUEST_BYTES
from payments_wechatpay.emulator import EmulatorServer
from tests.wechatpay.emulator_support import (
    MCHID,
    Merchant,
    merchant,
    merchant_key,
    receiver,
    snapshot,
)

pytestmark = pytest.mark.integration
__all__ = ["merchant", "merchant_key", "receiver"]  # fixtures
NATIVE = "/v3/pay/transactions/native"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(resend_factor=0.001) as running:
        yield running


@pytest.fixture(scope="module")
def stranger_key() -> RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


def _no() -> str:
    return unique("WQ")[:32]


def _refused(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


def test_a_well_signed_order_is_taken(merchant: Merchant) -> None:
    answer = merchant.call("POST", NATIVE, merchant.order(_no()))

    assert answer.status_code == 200, answer.text
    assert merchant.verified(answer)


@pytest.mark.parametrize(
    "forgery",
    [
        "no header",
        "other scheme",
        "another key",
        "unknown mchid",
        "other serial",
        "stale timestamp",
        "future timestamp",
        "body changed",
        "path changed",
        "query changed",
        "method changed",
    ],
)
def test_a_request_whose_signature_does_not_hold_is_sign_error_and_unsigned(
    merchant: Merchant, stranger_key: RSAPrivateKey, forgery: str
) -> None:
    number = _no()
    body = merchant.order(number)
    query = f"/v3/pay/transactions/out-trade-no/{number}?mchid={MCHID}"
    calls = {
        "no header": lambda: merchant.call(
            "POST", NATIVE, body, headers={"User-Agent": "t", "Content-Type": "application/json"}
        ),
        "other scheme": lambda: merchant.call(
            "POST",
            NATIVE,
            body,
            headers={
                "User-Agent": "t",
                "Authorization": merchant.sign("POST", NATIVE).replace(
                    "WECHATPAY2-SHA256-RSA2048", "WECHATPAY2-SM2-WITH-SM3"
                ),
            },
        ),
        "another key": lambda: merchant.call("POST", NATIVE, body, key=stranger_key),
        "unknown mchid": lambda: merchant.call("POST", NATIVE, body, mchid="1900000999"),
        "other serial": lambda: merchant.call("POST", NATIVE, body, serial_no="ABCDEF0123456789"),
        "stale timestamp": lambda: merchant.call(
            "POST", NATIVE, body, timestamp=int(time.time()) - 301
        ),
        "future timestamp": lambda: merchant.call(
            "POST", NATIVE, body, timestamp=int(time.time()) + 301
        ),
        "body changed": lambda: merchant.call(
            "POST",
            NATIVE,
            raw=b'{"forged":1}',
            headers={
                "User-Agent": "t",
                "Authorization": merchant.sign("POST", NATIVE, b'{"forged":2}'),
            },
        ),
        "path changed": lambda: merchant.call(
            "GET", query, signed_target=query.replace("WQ", "WX")
        ),
        "query changed": lambda: merchant.call("GET", query, signed_target=query + "&x=1"),
        "method changed": lambda: merchant.call(
            "GET",
            query,
            headers={"User-Agent": "t", "Authorization": merchant.sign("POST", query)},
        ),
    }

    answer = calls[forgery]()

    _refused(answer, 401, "SIGN_ERROR")
    assert "Wechatpay-Signature" not in answer.headers  # nothing signed for a stranger
    assert merchant.call("GET", query).status_code == 404  # and no order was made


def test_a_request_without_user_agent_or_naming_another_platform_key_is_refused(
    merchant: Merchant,
) -> None:
    body = json.dumps(merchant.order(_no())).encode()
    signature = merchant.sign("POST", NATIVE, body)

    address = urlsplit(merchant.base)
    connection = http.client.HTTPConnection(str(address.hostname), address.port)
    connection.request("POST", NATIVE, body, {"Authorization": signature})  # no User-Agent
    no_agent = connection.getresponse()
    no_agent_body = json.loads(no_agent.read())
    connection.close()
    other_key = merchant.call(
        "POST",
        NATIVE,
        raw=body,
        headers={
            "Authorization": signature,
            "User-Agent": "t",
            "Wechatpay-Serial": "PUB_KEY_ID_0000000000000000000000000000",
        },
    )

    assert (no_agent.status, no_agent_body["code"]) == (400, "PARAM_ERROR")
    _refused(other_key, 400, "INVALID_REQUEST")


def _with(body: dict[str, object], **changes: object) -> dict[str, object]:
    changed = {**body, **changes}
    return {k: v for k, v in changed.items() if v is not ...}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"out_trade_no": "A1234"}, "PARAM_ERROR"),  # 5 characters
        ({"out_trade_no": "A" * 33}, "PARAM_ERROR"),
        ({"out_trade_no": "A12345/"}, "PARAM_ERROR"),
        ({"out_trade_no": "A12345٣"}, "PARAM_ERROR"),  # a digit, but not an ASCII one
        ({"amount": {"total": 0}}, "PARAM_ERROR"),
        ({"amount": {"total": -1}}, "PARAM_ERROR"),
        ({"amount": {"total": 1.5}}, "PARAM_ERROR"),
        ({"amount": {"total": "100"}}, "PARAM_ERROR"),
        ({"amount": {"total": True}}, "PARAM_ERROR"),
        ({"amount": {"total": 10**11}}, "PARAM_ERROR"),
        ({"amount": {"total": 100, "currency": "USD"}}, "PARAM_ERROR"),
        ({"amount": 100}, "PARAM_ERROR"),
        ({"description": ""}, "PARAM_ERROR"),
        ({"description": "茶" * 128}, "PARAM_ERROR"),
        ({"description": ...}, "PARAM_ERROR"),
        ({"notify_url": "ftp://127.0.0.1/notify"}, "PARAM_ERROR"),
        ({"notify_url": "http://127.0.0.1/notify?x=1"}, "PARAM_ERROR"),
        ({"notify_url": "http://127.0.0.1/" + "n" * 260}, "PARAM_ERROR"),
        ({"notify_url": ...}, "PARAM_ERROR"),
        ({"time_expire": "2099-01-01 10:00:00"}, "PARAM_ERROR"),
        ({"time_expire": "2099-01-01T10:00:00"}, "PARAM_ERROR"),  # no offset
        ({"time_expire": "2099-02-30T10:00:00+08:00"}, "PARAM_ERROR"),
        ({"time_expire": "2001-01-01T10:00:00+08:00"}, "PARAM_ERROR"),  # past
        ({"time_expire": 4102444800}, "PARAM_ERROR"),
        ({"attach": "a" * 129}, "PARAM_ERROR"),
        ({"mchid": "1900000999"}, "PARAM_ERROR"),  # not the Authorization's
        ({"appid": "wxnotours"}, "APPID_MCHID_NOT_MATCH"),
    ],
)
def test_an_order_with_a_bad_field_is_refused_and_makes_nothing(
    merchant: Merchant, server: EmulatorServer, change: dict[str, object], code: str
) -> None:
    number = _no()
    body = _with(merchant.order(number), **change)

    answer = merchant.call("POST", NATIVE, body)

    _refused(answer, 400, code)
    assert merchant.verified(answer)
    assert server.emulator.transaction(str(body.get("out_trade_no"))) is None


@pytest.mark.parametrize("raw", [b"", b"[]", b"{", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000])
def test_a_body_that_is_not_a_json_object_is_param_error_or_too_large(
    merchant: Merchant, raw: bytes
) -> None:
    answer = merchant.call("POST", NATIVE, raw=raw)

    if len(raw) > MAX_REQUEST_BYTES:
        assert answer.status_code == 413
    else:
        _refused(answer, 400, "PARAM_ERROR")


def test_an_order_with_an_rfc3339_time_expire_and_offset_is_taken(merchant: Merchant) -> None:
    for expire in (
        "2099-01-01T10:00:00+08:00",
        "2099-01-01T02:00:00Z",
        "2099-01-01T10:00:00.5-05:00",
    ):
        answer = merchant.call("POST", NATIVE, merchant.order(_no(), time_expire=expire))
        assert answer.status_code == 200, (expire, answer.text)


def test_a_query_must_name_the_merchant_of_its_signature(merchant: Merchant) -> None:
    number = _no()
    merchant.call("POST", NATIVE, merchant.order(number))

    missing = merchant.call("GET", f"/v3/pay/transactions/out-trade-no/{number}")
    other = merchant.call("GET", f"/v3/pay/transactions/out-trade-no/{number}?mchid=1900000999")

    _refused(missing, 400, "PARAM_ERROR")
    _refused(other, 400, "PARAM_ERROR")


def test_another_merchant_sees_none_of_our_orders(
    server: EmulatorServer, merchant: Merchant, stranger_key: RSAPrivateKey
) -> None:
    number = _no()
    merchant.call("POST", NATIVE, merchant.order(number))
    other = server.emulator.merchant_settings(
        mchid="1900000888", appid="wxother", private_key=stranger_key, gateway_url=server.url
    )
    serial = other["WECHATPAY_CERT_SERIAL"]

    query = merchant.call(
        "GET",
        f"/v3/pay/transactions/out-trade-no/{number}?mchid=1900000888",
        key=stranger_key,
        mchid="1900000888",
        serial_no=serial,
    )
    close = merchant.call(
        "POST",
        f"/v3/pay/transactions/out-trade-no/{number}/close",
        {"mchid": "1900000888"},
        key=stranger_key,
        mchid="1900000888",
        serial_no=serial,
    )

    _refused(query, 404, "ORDER_NOT_EXIST")
    assert close.status_code == 204
    assert snapshot(server, number)["trade_state"] == "NOTPAY"
