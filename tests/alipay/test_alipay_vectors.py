"""Every test vector of the protocol reference reproduces byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from responses import matchers

from payments_alipay import canonical_string, load_private_key, sign_rsa2, signed_node, verify_rsa2
from payments_alipay.notification import parse_form
from payments_alipay.signing import (
    NOTIFICATION_EXCLUDED,
    REQUEST_EXCLUDED,
    encode_query,
    signed_params,
)
from payments_core.errors import SignatureInvalid
from payments_core.money import Money
from payments_core.values import CheckoutRequest, NotificationOutcome, TradeStatus
from tests.alipay.conftest import DATA, GatewayFactory, read

REQUESTS = ["page_pay_request", "wap_pay_request", "trade_query_request", "trade_close_request"]
RESPONSES = [
    "trade_query_response_success",
    "trade_query_response_not_exist",
    "trade_close_response_success",
    "edge_brace_inside_string",
]
KEY_FILES = [
    "app_private_key_pkcs8.pem",
    "app_private_key_pkcs1.pem",
    "app_private_key_pkcs8.txt",
    "app_private_key_pkcs1.txt",
]
PRODUCTION = "https://openapi.alipay.com/gateway.do"


@pytest.mark.parametrize("name", REQUESTS)
def test_the_canonical_request_string_matches_the_vector(
    vectors: dict[str, Any], name: str
) -> None:
    vector = vectors[name]

    assert canonical_string(vector["params"], REQUEST_EXCLUDED) == vector["canonical_string"]


@pytest.mark.parametrize("key_file", KEY_FILES)
@pytest.mark.parametrize("name", REQUESTS)
def test_every_key_encoding_gives_the_vector_signature(
    vectors: dict[str, Any], name: str, key_file: str
) -> None:
    vector = vectors[name]
    key = load_private_key(f"@{DATA / key_file}")

    assert sign_rsa2(key, vector["canonical_string"]) == vector["sign"]


@pytest.mark.parametrize("name", REQUESTS)
def test_the_sent_query_string_matches_the_vector(
    vectors: dict[str, Any], app_key: RSAPrivateKey, app_public: RSAPublicKey, name: str
) -> None:
    vector = vectors[name]

    query = encode_query(signed_params(vector["params"], app_key))

    assert query == vector["query_string"]
    assert verify_rsa2(app_public, vector["canonical_string"], vector["sign"])


def test_the_gateway_builds_the_page_pay_redirect_url_of_the_vector(
    vectors: dict[str, Any], make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway(gateway_url=PRODUCTION)
    request = CheckoutRequest(
        reference="T20240520000001",
        amount=Money.parse("88.88"),
        subject="测试订单 Test Order",
        description=None,
        expires_at=datetime(2024, 5, 20, 5, 44, 15, tzinfo=UTC),
    )

    checkout = gateway.open_checkout(request)

    assert checkout.order_string == vectors["page_pay_request"]["redirect_url"]
    assert checkout.expires_at == request.expires_at


@responses.activate
@pytest.mark.parametrize(
    ("request_name", "response_name", "moment"),
    [
        ("trade_query_request", "trade_query_response_success", (5, 20, 0)),
        ("trade_close_request", "trade_close_response_success", (5, 50, 0)),
    ],
)
def test_the_gateway_sends_exactly_the_server_call_vectors(
    vectors: dict[str, Any],
    make_gateway: GatewayFactory,
    request_name: str,
    response_name: str,
    moment: tuple[int, int, int],
) -> None:
    vector = vectors[request_name]
    sent = dict(vector["params"], sign=vector["sign"])
    responses.post(
        PRODUCTION,
        body=vectors[response_name]["raw_http_body"].encode("utf-8"),
        match=[matchers.urlencoded_params_matcher(sent)],
    )
    gateway = make_gateway(clock=lambda: datetime(2024, 5, 20, *moment, tzinfo=UTC))
    reference = vector["params"]["biz_content"].split('"')[3]

    if request_name == "trade_query_request":
        report = gateway.query(reference)
        assert report.status is TradeStatus.PAID
        assert report.amount == Money.parse("88.88")
        assert report.trade_id == "2024052022001400001234567890"
    else:
        gateway.close_attempt(reference)
    assert len(responses.calls) == 1


@pytest.mark.parametrize("name", RESPONSES)
def test_the_signed_node_is_extracted_exactly_and_verifies(
    vectors: dict[str, Any], platform_public: RSAPublicKey, name: str
) -> None:
    vector = vectors[name]

    text = signed_node(vector["raw_http_body"], vector["response_node"])

    assert text == vector["signed_substring"]
    assert verify_rsa2(platform_public, text, vector["sign"])


@responses.activate
def test_the_not_exist_vector_reads_as_unpaid(
    vectors: dict[str, Any], make_gateway: GatewayFactory
) -> None:
    responses.post(
        PRODUCTION, body=vectors["trade_query_response_not_exist"]["raw_http_body"].encode()
    )

    report = make_gateway().query("T20240520000009")

    assert report.status is TradeStatus.UNPAID
    assert report.trade_id is None


def test_the_notification_vector_decodes_to_its_params_and_canonical_string(
    vectors: dict[str, Any],
) -> None:
    vector = vectors["notify_trade_success"]

    fields = parse_form(vector["http_body"].encode("ascii"))

    assert fields == vector["params"]
    assert canonical_string(fields, NOTIFICATION_EXCLUDED) == vector["canonical_string"]


def test_the_notification_vector_is_verified_evidence_of_payment(
    vectors: dict[str, Any], make_gateway: GatewayFactory
) -> None:
    body = vectors["notify_trade_success"]["http_body"].encode("ascii")

    gateway = make_gateway()
    report = gateway.parse_notification(body, {"content-type": "application/x-www-form-urlencoded"})

    assert report is not None
    assert report.status is TradeStatus.PAID
    assert report.reference == "T20240520000001"
    assert report.amount == Money.parse("88.88")
    assert report.trade_id == "2024052022001400001234567890"
    assert report.merchant_matches
    assert gateway.reply(NotificationOutcome.APPLIED).body == "success"
    assert gateway.reply(NotificationOutcome.RETRY).body == "failure"


def test_keeping_sign_type_in_the_notification_string_does_not_verify(
    vectors: dict[str, Any], platform_public: RSAPublicKey
) -> None:
    vector = vectors["notify_trade_success"]

    with_sign_type = canonical_string(vector["params"], REQUEST_EXCLUDED)

    assert not verify_rsa2(platform_public, with_sign_type, vector["sign"])


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"total_amount=88.88", b"total_amount=88.80"),
        (b"sign=XZt9", b"sign=XZt8"),
    ],
)
def test_a_tampered_notification_vector_is_refused(
    vectors: dict[str, Any], make_gateway: GatewayFactory, old: bytes, new: bytes
) -> None:
    body = vectors["notify_trade_success"]["http_body"].encode("ascii")

    with pytest.raises(SignatureInvalid):
        make_gateway().parse_notification(
            body.replace(old, new), {"content-type": "application/x-www-form-urlencoded"}
        )


def test_a_plus_turned_into_a_space_in_the_signature_is_refused(
    vectors: dict[str, Any], make_gateway: GatewayFactory
) -> None:
    vector = vectors["notify_trade_success"]
    broken = vector["http_body"].replace("%2B", "+").encode("ascii")  # '+' decodes to ' '

    with pytest.raises(SignatureInvalid):
        make_gateway().parse_notification(
            broken, {"content-type": "application/x-www-form-urlencoded"}
        )


def test_the_platform_public_key_reads_in_both_encodings(platform_public: RSAPublicKey) -> None:
    from payments_alipay import load_public_key

    bare = load_public_key(read("alipay_platform_public_key.txt"))

    assert bare.public_numbers() == platform_public.public_numbers()
