"""The order string: a signed page/WAP pay URL for one attempt, built without a network call."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from payments_alipay import canonical_string, verify_rsa2
from payments_alipay.signing import REQUEST_EXCLUDED
from payments_core.errors import VendorError
from payments_core.money import Money
from payments_core.values import CheckoutRequest
from tests.alipay.conftest import FIXED_NOW, GatewayFactory

AMP, EQ, SLASH = "\uff06", "\uff1d", "\uff0f"  # full-width forms, read as text not syntax


def checkout_request(**changes: Any) -> CheckoutRequest:
    request = CheckoutRequest(
        reference="P1_A1",
        amount=Money.parse("1000.1"),
        subject="Tea 茶",
        description="two boxes",
        expires_at=FIXED_NOW + timedelta(minutes=15, microseconds=900),
    )
    return attrs.evolve(request, **changes)


def sent_params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True, strict_parsing=True))


def test_the_order_string_is_a_signed_page_pay_url(
    make_gateway: GatewayFactory, app_public: RSAPublicKey
) -> None:
    url = make_gateway().open_checkout(checkout_request()).order_string

    params = sent_params(url)
    assert url.startswith("https://openapi.alipay.com/gateway.do?")
    assert url.rsplit("&", 1)[1].startswith("sign=")
    assert params["method"] == "alipay.trade.page.pay"
    assert params["timestamp"] == "2024-05-20 13:14:15"
    assert verify_rsa2(app_public, canonical_string(params, REQUEST_EXCLUDED), params["sign"])


def test_biz_content_carries_the_attempt_with_a_two_decimal_amount_and_china_time(
    make_gateway: GatewayFactory,
) -> None:
    url = make_gateway().open_checkout(checkout_request()).order_string

    biz = json.loads(sent_params(url)["biz_content"])
    assert biz == {
        "out_trade_no": "P1_A1",
        "product_code": "FAST_INSTANT_TRADE_PAY",
        "subject": "Tea 茶",
        "body": "two boxes",
        "total_amount": "1000.10",
        "time_expire": "2024-05-20 13:29:15",
    }


def test_wap_uses_the_wap_method_and_quick_wap_way(make_gateway: GatewayFactory) -> None:
    url = make_gateway(product="wap").open_checkout(checkout_request()).order_string

    params = sent_params(url)
    assert params["method"] == "alipay.trade.wap.pay"
    assert json.loads(params["biz_content"])["product_code"] == "QUICK_WAP_WAY"


def test_notify_and_return_urls_are_sent_and_an_unset_one_is_not_sent_at_all(
    make_gateway: GatewayFactory,
) -> None:
    with_return = sent_params(make_gateway().open_checkout(checkout_request()).order_string)
    without = sent_params(
        make_gateway(return_url=None).open_checkout(checkout_request()).order_string
    )

    assert with_return["notify_url"] == "https://shop.example.com/pay/alipay/notify"
    assert with_return["return_url"] == "https://shop.example.com/pay/alipay/return"
    assert "return_url" not in without


def test_a_missing_description_sends_no_body(make_gateway: GatewayFactory) -> None:
    url = make_gateway().open_checkout(checkout_request(description=None)).order_string

    assert "body" not in json.loads(sent_params(url)["biz_content"])


def test_long_subject_and_description_are_cut_on_character_boundaries(
    make_gateway: GatewayFactory,
) -> None:
    request = checkout_request(subject="茶" * 300, description="☕" * 200)

    biz = json.loads(sent_params(make_gateway().open_checkout(request).order_string)["biz_content"])

    assert biz["subject"] == "茶" * 256
    assert biz["body"] == "☕" * 128


@pytest.mark.parametrize("reference", ["", "has-dash", "x" * 65, "空", "a b"])
def test_a_reference_alipay_cannot_take_is_a_vendor_error(
    make_gateway: GatewayFactory, reference: str
) -> None:
    with pytest.raises(VendorError, match="out_trade_no"):
        make_gateway().open_checkout(checkout_request(reference=reference))


def test_a_currency_other_than_cny_is_a_vendor_error(make_gateway: GatewayFactory) -> None:
    with pytest.raises(VendorError, match="CNY"):
        make_gateway().open_checkout(checkout_request(amount=Money.parse("1", "USD")))


def test_a_blank_subject_is_a_vendor_error(make_gateway: GatewayFactory) -> None:
    with pytest.raises(VendorError, match="subject"):
        make_gateway().open_checkout(checkout_request(subject="   "))


def test_a_naive_expiry_is_a_vendor_error(make_gateway: GatewayFactory) -> None:
    with pytest.raises(VendorError, match="timezone"):
        make_gateway().open_checkout(checkout_request(expires_at=datetime(2024, 5, 20, 6, 0)))  # noqa: DTZ001


def test_each_checkout_reads_the_clock(make_gateway: GatewayFactory) -> None:
    times = iter([FIXED_NOW, FIXED_NOW + timedelta(seconds=5)])
    gateway = make_gateway(clock=lambda: next(times))

    first = sent_params(gateway.open_checkout(checkout_request()).order_string)["timestamp"]
    second = sent_params(gateway.open_checkout(checkout_request()).order_string)["timestamp"]

    assert (first, second) == ("2024-05-20 13:14:15", "2024-05-20 13:14:20")


def test_the_expiry_is_returned_unchanged(make_gateway: GatewayFactory) -> None:
    expires = datetime(2030, 1, 1, tzinfo=UTC)

    assert make_gateway().open_checkout(checkout_request(expires_at=expires)).expires_at == expires


def test_separators_in_subject_and_body_are_sent_as_their_full_width_forms(
    make_gateway: GatewayFactory,
) -> None:
    request = checkout_request(
        subject="x&out_trade_no=P2_A1&total_amount=0.01/y", description="a=b&c/d"
    )

    biz = json.loads(sent_params(make_gateway().open_checkout(request).order_string)["biz_content"])

    assert biz["subject"] == f"x{AMP}out_trade_no{EQ}P2_A1{AMP}total_amount{EQ}0.01{SLASH}y"
    assert biz["body"] == f"a{EQ}b{AMP}c{SLASH}d"


def test_the_signed_text_of_a_hostile_subject_has_one_reading(
    make_gateway: GatewayFactory,
) -> None:
    request = checkout_request(subject='x"}&notify_url=https://evil.example/&z=', description="&=")

    params = sent_params(make_gateway().open_checkout(request).order_string)

    text = canonical_string(params, REQUEST_EXCLUDED)
    read_back = dict(part.partition("=")[::2] for part in text.split("&"))
    assert read_back == {name: value for name, value in params.items() if name != "sign"}
    assert not set("&=/") & set(params["biz_content"])


def test_a_subject_of_separators_only_is_sent_as_full_width_not_refused(
    make_gateway: GatewayFactory,
) -> None:
    request = checkout_request(subject="&=/", description=None)

    biz = json.loads(sent_params(make_gateway().open_checkout(request).order_string)["biz_content"])

    assert biz["subject"] == AMP + EQ + SLASH
