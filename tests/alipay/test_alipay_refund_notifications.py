"""Refund notifications: read as evidence about a refund, never as a payment.

After a partial refund Alipay notifies ``TRADE_SUCCESS`` again with ``refund_fee``,
``out_biz_no`` (our out_request_no) and ``gmt_refund``; after a full one, ``TRADE_CLOSED``
with the same fields. A genuine one, or one cut another way, must never read as a
payment of the trade, and no cut of a payment's notification may read as a refund.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from hypothesis import given
from hypothesis import strategies as st

from payments_alipay import canonical_string, sign_rsa2
from payments_alipay.signing import NOTIFICATION_EXCLUDED
from payments_core.errors import SignatureInvalid, VendorError
from payments_core.values import RefundReport, RefundState, TradeReport, TradeStatus
from tests.alipay.conftest import GatewayFactory
from tests.alipay.test_alipay_notifications import FORM, fields, signed_body
from tests.alipay.test_alipay_recut import EXAMPLES, FREE_TEXT, body_of, genuine_fields, signed_cut

REFUNDED = RefundReport(
    vendor="alipay", reference="P7_A2", refund_reference="P7_R1", state=RefundState.SUCCEEDED
)


def refund_fields(**changes: str) -> dict[str, str]:
    """A genuine notification after refunding 2.30 of P7_A2's 12.30 under P7_R1."""
    refund = {
        "out_biz_no": "P7_R1",
        "refund_fee": "2.30",
        "gmt_refund": "2024-05-20 13:20:00.123",
        "notify_time": "2024-05-20 13:20:01",
    }
    return fields(**(refund | changes))


@pytest.mark.parametrize("status", ["TRADE_SUCCESS", "TRADE_CLOSED", "TRADE_FINISHED"])
def test_a_refund_notification_is_a_succeeded_refund_report_not_a_payment(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory, status: str
) -> None:
    body = signed_body(platform_key, refund_fields(trade_status=status, refund_fee="12.30"))

    report = make_gateway().parse_notification(body, FORM)

    assert report == REFUNDED  # refund_fee is the trade's total refunded: no amount here


def test_a_closed_trade_without_refund_fields_is_still_a_closed_trade(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    body = signed_body(platform_key, fields(trade_status="TRADE_CLOSED", gmt_payment=""))

    report = make_gateway().parse_notification(body, FORM)

    assert isinstance(report, TradeReport)
    assert report.status is TradeStatus.CLOSED


def test_empty_refund_fields_added_to_a_payment_change_nothing(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    """Empty fields are not signed, so anyone can add them: they must not make a refund."""
    body = signed_body(platform_key, fields()) + b"&out_biz_no=&refund_fee=&gmt_refund="

    report = make_gateway().parse_notification(body, FORM)

    assert isinstance(report, TradeReport)
    assert report.status is TradeStatus.PAID


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"out_biz_no": ""}, id="no out_biz_no"),
        pytest.param({"refund_fee": ""}, id="no refund_fee"),
        pytest.param({"out_biz_no": "P7 R1"}, id="a space in out_biz_no"),
        pytest.param({"out_biz_no": "../P7_R1"}, id="a path in out_biz_no"),
        pytest.param({"out_biz_no": "R" * 65}, id="out_biz_no too long"),
        pytest.param({"out_biz_no": "P7_R1\u200b"}, id="an invisible character"),
        pytest.param({"refund_fee": "2.3e0"}, id="an exponent"),
        pytest.param({"refund_fee": "2.305"}, id="three decimals"),
        pytest.param({"refund_fee": "-2.30"}, id="negative"),
        pytest.param({"refund_fee": "0.00"}, id="zero"),
        pytest.param({"refund_fee": "\uff12.30"}, id="a full-width digit"),
        pytest.param({"refund_fee": "12.31"}, id="more than the trade's total"),
        pytest.param({"total_amount": ""}, id="no total_amount"),
        pytest.param({"trade_status": "WAIT_BUYER_PAY"}, id="an unpaid trade"),
        pytest.param({"trade_status": "REFUND_SUCCESS"}, id="an unknown status"),
        pytest.param({"seller_id": "2088999999999999"}, id="another seller"),
        pytest.param({"seller_id": ""}, id="no seller"),
    ],
)
def test_a_refund_notification_missing_or_garbling_what_it_needs_is_refused(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory, changes: dict[str, str]
) -> None:
    body = signed_body(platform_key, refund_fields(**changes))

    with pytest.raises(VendorError):
        make_gateway().parse_notification(body, FORM)


def test_without_a_configured_seller_any_seller_of_our_app_is_taken(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    body = signed_body(platform_key, refund_fields(seller_id="2088999999999999"))

    assert make_gateway(seller_id=None).parse_notification(body, FORM) == REFUNDED


def test_a_forged_or_tampered_refund_notification_is_refused(
    platform_key: RSAPrivateKey, app_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway()
    genuine = signed_body(platform_key, refund_fields())

    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(genuine.replace(b"P7_R1", b"P7_R2"), FORM)
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(genuine.replace(b"refund_fee=2.30", b"refund_fee=2.20"), FORM)
    with pytest.raises(SignatureInvalid):  # signed, but with the merchant's own key
        gateway.parse_notification(signed_body(app_key, refund_fields()), FORM)


@pytest.mark.parametrize(
    ("hide", "into"),
    [
        pytest.param(("out_biz_no",), "notify_type", id="out_biz_no into notify_type"),
        pytest.param(("refund_fee",), "receipt_amount", id="refund_fee into receipt_amount"),
        pytest.param(("gmt_refund",), "gmt_payment", id="gmt_refund into gmt_payment"),
        pytest.param(
            ("out_biz_no", "out_trade_no", "point_amount", "receipt_amount", "refund_fee"),
            "notify_type",
            id="every field from out_biz_no to refund_fee into notify_type",
        ),
    ],
)
def test_a_refund_notification_recut_to_look_like_a_payment_is_refused(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory, hide: tuple[str, ...], into: str
) -> None:
    """The refund fields folded into the value before them: the signature still verifies."""
    genuine = refund_fields(receipt_amount="12.30", point_amount="0.00")
    text = canonical_string(genuine, NOTIFICATION_EXCLUDED)
    recut = {k: v for k, v in genuine.items() if k not in (*hide, "sign_type")}
    recut[into] = genuine[into] + "".join(f"&{name}={genuine[name]}" for name in hide)
    assert canonical_string(recut, NOTIFICATION_EXCLUDED) == text
    body = body_of(list(recut.items()), sign_rsa2(platform_key, text))

    with pytest.raises(SignatureInvalid, match="more than one way"):
        make_gateway().parse_notification(body, FORM)


@pytest.mark.parametrize(
    "free_text",
    [
        pytest.param({"subject": "tea&out_biz_no=P7_R1"}, id="out_biz_no in the subject"),
        pytest.param({"passback_params": "x&refund_fee=12.30"}, id="refund_fee in passback"),
        pytest.param({"body": "&gmt_refund=now&out_biz_no=P7_R1"}, id="in the body"),
    ],
)
def test_refund_fields_written_into_a_payments_free_text_never_make_a_refund(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory, free_text: dict[str, str]
) -> None:
    """Were Alipay ever to echo them raw: the genuine body and its refund-like cut alike."""
    genuine = genuine_fields("P7_A2", free_text)
    text = canonical_string(genuine, NOTIFICATION_EXCLUDED)
    name, value = next(iter(free_text.items()))
    head, _, tail = value.partition("&")
    split = {k: v for k, v in genuine.items() if k != name} | {name: head}
    split |= dict(part.split("=", 1) for part in tail.split("&"))
    gateway = make_gateway()

    for cut in (genuine, split):
        body = body_of(list(cut.items()), sign_rsa2(platform_key, text))
        try:
            report = gateway.parse_notification(body, FORM)
        except VendorError:
            continue
        assert isinstance(report, TradeReport)
        assert report.status is TradeStatus.PAID


REFUND_WORDS = st.lists(
    st.sampled_from(
        ["&", "=", "x", "out_biz_no", "refund_fee", "gmt_refund", "P7_R9", "0.01", "12.30"]
    ),
    max_size=10,
).map("".join)


@EXAMPLES
@given(free_text=FREE_TEXT, extra=REFUND_WORDS, data=st.data())
def test_whatever_cut_of_a_payment_is_accepted_is_that_payment_never_a_refund(
    platform_key: RSAPrivateKey,
    make_gateway: GatewayFactory,
    free_text: dict[str, str],
    extra: str,
    data: st.DataObject,
) -> None:
    values = {k: v.format(B="P9_B1", C="P9_C1") for k, v in free_text.items()}
    values["passback_params"] = values.get("passback_params", "") + extra
    body, _ = signed_cut(platform_key, genuine_fields("P7_A2", values), data)

    try:
        report = make_gateway().parse_notification(body, FORM)
    except VendorError:
        return

    assert isinstance(report, TradeReport)
    assert (report.reference, report.status) == ("P7_A2", TradeStatus.PAID)


@EXAMPLES
@given(free_text=FREE_TEXT, data=st.data())
def test_whatever_cut_of_a_refund_is_accepted_is_exactly_that_refund(
    platform_key: RSAPrivateKey,
    make_gateway: GatewayFactory,
    free_text: dict[str, str],
    data: st.DataObject,
) -> None:
    values = {k: v.format(B="P9_B1", C="P9_C1") for k, v in free_text.items()}
    genuine = genuine_fields("P7_A2", values) | {"out_biz_no": "P7_R1", "refund_fee": "2.30"}
    body, _ = signed_cut(platform_key, genuine, data)

    try:
        report = make_gateway().parse_notification(body, FORM)
    except VendorError:
        return

    assert report == REFUNDED
