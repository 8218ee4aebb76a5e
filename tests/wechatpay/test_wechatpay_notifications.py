"""Notifications, adversarially: only a fresh, signed, decryptable notification for our
merchant and app is evidence; everything else changes nothing."""

from __future__ import annotations

import json

import pytest

from payments_core.errors import SignatureInvalid, VendorError
from payments_core.inmemory import FrozenClock
from payments_core.values import (
    NotificationOutcome,
    RefundReport,
    RefundState,
    Reply,
    TradeReport,
    TradeStatus,
)
from payments_wechatpay.gateway import WeChatPayGateway
from payments_wechatpay.notification import MAX_BODY
from tests.wechatpay.conftest import MCHID, Platform, later

REF = "P20240520051415abcdef"


def paid(gateway: WeChatPayGateway, body: bytes, headers: dict[str, str]) -> TradeReport:
    report = gateway.parse_notification(body, headers)
    assert isinstance(report, TradeReport)
    return report


def test_a_genuine_notification_reports_the_payment(
    gateway: WeChatPayGateway, platform: Platform
) -> None:
    body, headers = platform.notification(platform.transaction(REF))

    report = paid(gateway, body, headers)

    assert (report.vendor, report.reference, report.status) == ("wechatpay", REF, TradeStatus.PAID)
    assert report.trade_id == "4200002024052012345678901234"
    assert report.amount is not None
    assert str(report.amount.to_decimal()) == "88.88"
    assert report.merchant_matches


def test_the_amount_is_what_the_resource_says_not_what_was_asked(
    gateway: WeChatPayGateway, platform: Platform
) -> None:
    """The core compares it with the attempt's amount; the gateway must not smooth it over."""
    body, headers = platform.notification(
        platform.transaction(REF, amount={"total": 1, "payer_total": 1, "currency": "CNY"})
    )
    report = paid(gateway, body, headers)
    assert report.amount is not None
    assert report.amount.minor == 1


def test_header_names_in_any_case_are_read(gateway: WeChatPayGateway, platform: Platform) -> None:
    body, headers = platform.notification(platform.transaction(REF))
    shouting = {name.upper(): value for name, value in headers.items()}
    assert paid(gateway, body, shouting).reference == REF


@pytest.mark.parametrize(
    "name", ["wechatpay-signature", "wechatpay-timestamp", "wechatpay-nonce", "wechatpay-serial"]
)
def test_a_missing_signature_header_is_refused(
    gateway: WeChatPayGateway, platform: Platform, name: str
) -> None:
    body, headers = platform.notification(platform.transaction(REF))
    del headers[name]
    with pytest.raises(SignatureInvalid, match=name):
        gateway.parse_notification(body, headers)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("wechatpay-signature", "WECHATPAY/SIGNTEST/abcdef"),
        ("wechatpay-serial", "PUB_KEY_ID_0119000000012024052000000000000002"),
        ("wechatpay-nonce", "ANOTHERNONCE"),
        ("wechatpay-signature-type", "WECHATPAY2-SM2-WITH-SM3"),
        ("wechatpay-timestamp", "1716182055.0"),
    ],
)
def test_a_forged_or_altered_signature_is_refused(
    gateway: WeChatPayGateway, platform: Platform, name: str, value: str
) -> None:
    body, headers = platform.notification(platform.transaction(REF))
    headers[name] = value
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(body, headers)


def test_a_body_changed_after_signing_is_refused(
    gateway: WeChatPayGateway, platform: Platform
) -> None:
    body, headers = platform.notification(platform.transaction(REF))
    notice = json.loads(body)
    notice["event_type"] = "TRANSACTION.SUCCESS "
    for changed in (body + b" ", json.dumps(notice).encode(), body.replace(b"\xe6\x94\xaf", b"x")):
        with pytest.raises(SignatureInvalid):
            gateway.parse_notification(changed, headers)


def test_a_resource_swapped_from_another_genuine_notification_is_refused(
    gateway: WeChatPayGateway, platform: Platform
) -> None:
    cheap_body, _ = platform.notification(platform.transaction("P20240520cheap000001"))
    body, headers = platform.notification(platform.transaction(REF))
    spliced = json.loads(body)
    spliced["resource"] = json.loads(cheap_body)["resource"]
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(json.dumps(spliced).encode(), headers)


@pytest.mark.parametrize("seconds", [301, -301, 3600])
def test_a_notification_outside_the_5_minute_window_is_refused(
    gateway: WeChatPayGateway, platform: Platform, clock: FrozenClock, seconds: int
) -> None:
    body, headers = platform.notification(platform.transaction(REF))
    later(clock, seconds)
    with pytest.raises(SignatureInvalid, match="5 minutes"):
        gateway.parse_notification(body, headers)


def test_a_resend_within_the_window_reports_the_same_evidence_and_a_replay_after_it_nothing(
    gateway: WeChatPayGateway, platform: Platform, clock: FrozenClock
) -> None:
    body, headers = platform.notification(platform.transaction(REF))
    first = paid(gateway, body, headers)
    later(clock, 299)
    assert paid(gateway, body, headers) == first
    later(clock, 2)
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(body, headers)


def test_a_resource_encrypted_with_another_key_is_refused(
    gateway: WeChatPayGateway, platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    body, headers = platform.notification(platform.transaction(REF), apiv3_key=b"b" * 32)
    with pytest.raises(SignatureInvalid, match="decrypt"):
        gateway.parse_notification(body, headers)
    assert "WECHATPAY_APIV3_KEY" in caplog.text
    assert platform.apiv3_key.decode() not in caplog.text


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"mchid": "1900000002"}, "merchant"),
        ({"mchid": None}, "merchant"),
        ({"appid": "wx0000000000000000"}, "app"),
        ({"appid": None}, "app"),
    ],
)
def test_a_transaction_for_another_merchant_or_app_is_refused(
    gateway: WeChatPayGateway, platform: Platform, changes: dict[str, object], reason: str
) -> None:
    body, headers = platform.notification(platform.transaction(REF, **changes))
    with pytest.raises(SignatureInvalid, match=reason):
        gateway.parse_notification(body, headers)


@pytest.mark.parametrize(
    "changes",
    [
        {"trade_state": "NOTPAY"},
        {"transaction_id": ""},
        {"amount": {"total": 0.5, "currency": "CNY"}},
        {"amount": {"total": True, "currency": "CNY"}},
        {"out_trade_no": 12345678},
    ],
)
def test_a_success_event_that_is_not_a_payment_is_a_vendor_error(
    gateway: WeChatPayGateway, platform: Platform, changes: dict[str, object]
) -> None:
    body, headers = platform.notification(platform.transaction(REF, **changes))
    with pytest.raises(VendorError):
        gateway.parse_notification(body, headers)


def test_a_huge_body_is_refused_before_any_work(
    gateway: WeChatPayGateway, platform: Platform
) -> None:
    body = b"{" + b" " * MAX_BODY + b"}"
    with pytest.raises(VendorError, match="too large") as caught:
        gateway.parse_notification(body, platform.headers(body))
    assert not isinstance(caught.value, SignatureInvalid)


@pytest.mark.parametrize(
    "body", [b"", b"\xff\xfe", b"[]", b"{}", b'{"event_type":"TRANSACTION.SUCCESS"}', b"a=1&b=2"]
)
def test_signed_garbage_is_a_vendor_error(
    gateway: WeChatPayGateway, platform: Platform, body: bytes
) -> None:
    with pytest.raises(VendorError):
        gateway.parse_notification(body, platform.headers(body))


def test_unsigned_garbage_is_refused(gateway: WeChatPayGateway) -> None:
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(b"{}", {"content-type": "application/json"})


def test_other_genuine_events_report_nothing(gateway: WeChatPayGateway, platform: Platform) -> None:
    body, headers = platform.notification(
        platform.transaction(REF), event_type="TRANSACTION.CLOSED"
    )
    assert gateway.parse_notification(body, headers) is None


@pytest.mark.parametrize(
    ("event", "status", "state"),
    [
        ("REFUND.SUCCESS", "SUCCESS", RefundState.SUCCEEDED),
        ("REFUND.ABNORMAL", "ABNORMAL", RefundState.FAILED),
        ("REFUND.CLOSED", "CLOSED", RefundState.FAILED),
    ],
)
def test_a_refund_notification_reports_the_refund(
    gateway: WeChatPayGateway, platform: Platform, event: str, status: str, state: RefundState
) -> None:
    refund = {
        "mchid": MCHID,
        "out_trade_no": REF,
        "transaction_id": "4200002024052012345678901234",
        "out_refund_no": "R20240520000001",
        "refund_id": "50000000382019052709732678859",
        "refund_status": status,
        "amount": {"total": 8888, "refund": 1000, "payer_total": 8888, "payer_refund": 1000},
    }
    body, headers = platform.notification(refund, event_type=event, original_type="refund")

    report = gateway.parse_notification(body, headers)

    assert isinstance(report, RefundReport)
    assert (report.reference, report.refund_reference, report.state) == (
        REF,
        "R20240520000001",
        state,
    )
    assert report.amount is not None
    assert report.amount.minor == 1000
    assert report.failure == (None if state is RefundState.SUCCEEDED else status)


def test_a_refund_for_another_merchant_is_refused(
    gateway: WeChatPayGateway, platform: Platform
) -> None:
    refund = {
        "mchid": "1900000002",
        "out_trade_no": REF,
        "out_refund_no": "R1",
        "refund_status": "SUCCESS",
        "amount": {"refund": 1},
    }
    body, headers = platform.notification(
        refund, event_type="REFUND.SUCCESS", original_type="refund"
    )
    with pytest.raises(SignatureInvalid, match="merchant"):
        gateway.parse_notification(body, headers)


def test_replies(gateway: WeChatPayGateway) -> None:
    applied = gateway.reply(NotificationOutcome.APPLIED)
    retry = gateway.reply(NotificationOutcome.RETRY)
    refused = gateway.reply(NotificationOutcome.REFUSED)

    assert applied == Reply(status=204, body="")
    for reply, status in ((retry, 500), (refused, 400)):
        assert reply.status == status
        assert reply.media_type == "application/json"
        answer = json.loads(reply.body)
        assert answer["code"] == "FAIL"
        assert answer["message"]
