"""Notifications: the raw body parsed once, verified, checked as ours, and turned into evidence."""

from __future__ import annotations

from urllib.parse import quote_plus, urlencode

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from payments_alipay import canonical_string, sign_rsa2
from payments_alipay.notification import parse_form
from payments_alipay.signing import NOTIFICATION_EXCLUDED
from payments_core.errors import SignatureInvalid, VendorError
from payments_core.money import Money
from payments_core.values import NotificationOutcome, TradeStatus
from tests.alipay.conftest import APP_ID, SELLER_ID, GatewayFactory

FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
APPLIED, RETRY = NotificationOutcome.APPLIED, NotificationOutcome.RETRY


def fields(**changes: str) -> dict[str, str]:
    base = {
        "notify_time": "2024-05-20 13:15:11",
        "notify_type": "trade_status_sync",
        "notify_id": "2024052000222131510012345678901234",
        "app_id": APP_ID,
        "auth_app_id": APP_ID,
        "charset": "utf-8",
        "version": "1.0",
        "sign_type": "RSA2",
        "trade_no": "2024052022001400001234567890",
        "out_trade_no": "P7_A2",
        "seller_id": SELLER_ID,
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "12.30",
        "subject": "茶 & cake = 2/3",
        "gmt_payment": "2024-05-20 13:15:10",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v}


def signed_body(key: RSAPrivateKey, params: dict[str, str], *, charset: str = "utf-8") -> bytes:
    sign = sign_rsa2(key, canonical_string(params, NOTIFICATION_EXCLUDED))
    pairs = [*params.items(), ("sign", sign)]
    return urlencode(pairs, quote_via=quote_plus, encoding=charset).encode("ascii")


def test_a_paid_notification_is_evidence_with_amount_trade_id_and_merchant(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway()
    report = gateway.parse_notification(signed_body(platform_key, fields()), FORM)

    assert report is not None
    assert (report.status, report.reference, report.trade_id) == (
        TradeStatus.PAID,
        "P7_A2",
        "2024052022001400001234567890",
    )
    assert report.amount == Money(1230)
    assert report.merchant_matches
    processed, failed = gateway.reply(APPLIED), gateway.reply(RETRY)
    assert (processed.body, failed.body) == ("success", "failure")
    assert processed.media_type == "text/plain"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("WAIT_BUYER_PAY", TradeStatus.UNPAID),
        ("TRADE_CLOSED", TradeStatus.CLOSED),
        ("TRADE_FINISHED", TradeStatus.PAID),
    ],
)
def test_each_trade_status_maps_to_a_report(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory, status: str, expected: TradeStatus
) -> None:
    body = signed_body(platform_key, fields(trade_status=status))

    report = make_gateway().parse_notification(body, FORM)

    assert report is not None
    assert report.status is expected


def test_a_notification_for_another_app_id_is_signature_invalid(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    body = signed_body(platform_key, fields(app_id="2021000000000999"))

    with pytest.raises(SignatureInvalid, match="not addressed to this application"):
        make_gateway().parse_notification(body, FORM)


@pytest.mark.parametrize(
    ("seller", "configured", "matches"),
    [
        ("2088999999999999", SELLER_ID, False),
        ("", SELLER_ID, False),
        ("2088999999999999", None, True),
        (SELLER_ID, SELLER_ID, True),
    ],
)
def test_the_seller_is_checked_only_when_one_is_configured(
    platform_key: RSAPrivateKey,
    make_gateway: GatewayFactory,
    seller: str,
    configured: str | None,
    matches: bool,
) -> None:
    body = signed_body(platform_key, fields(seller_id=seller))

    report = make_gateway(seller_id=configured).parse_notification(body, FORM)

    assert report is not None
    assert report.merchant_matches is matches


def test_an_amount_written_differently_is_compared_as_a_decimal(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    body = signed_body(platform_key, fields(total_amount="12.3"))

    report = make_gateway().parse_notification(body, FORM)

    assert report is not None
    assert report.amount == Money.parse("12.30")


@pytest.mark.parametrize(
    "changes",
    [
        {"total_amount": "abc"},
        {"total_amount": "0.00"},
        {"trade_no": ""},
        {"trade_status": "NEW_STATUS"},
        {"out_trade_no": ""},
    ],
)
def test_a_genuine_but_unusable_notification_is_a_vendor_error(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory, changes: dict[str, str]
) -> None:
    body = signed_body(platform_key, fields(**changes))

    with pytest.raises(VendorError) as raised:
        make_gateway().parse_notification(body, FORM)

    assert not isinstance(raised.value, SignatureInvalid)


@pytest.mark.parametrize("changes", [{"sign_type": "RSA"}, {"total_amount": "99.99"}])
def test_a_downgraded_or_tampered_notification_is_signature_invalid(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory, changes: dict[str, str]
) -> None:
    genuine = signed_body(platform_key, fields())
    old, new = next(iter(changes.items()))
    tampered = genuine.replace(
        f"{old}={quote_plus(fields()[old])}".encode(), f"{old}={new}".encode()
    )
    assert tampered != genuine

    with pytest.raises(SignatureInvalid):
        make_gateway().parse_notification(tampered, FORM)


def test_a_notification_signed_with_another_key_is_signature_invalid(
    app_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    with pytest.raises(SignatureInvalid):
        make_gateway().parse_notification(signed_body(app_key, fields()), FORM)


def test_an_unsigned_notification_is_signature_invalid(make_gateway: GatewayFactory) -> None:
    body = urlencode(fields(), quote_via=quote_plus).encode()

    with pytest.raises(SignatureInvalid, match="not signed"):
        make_gateway().parse_notification(body, FORM)


def test_a_new_field_is_part_of_the_signed_content(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    body = signed_body(platform_key, fields(merchant_app_id=APP_ID, buyer_open_id="074a"))

    assert make_gateway().parse_notification(body, FORM) is not None
    with pytest.raises(SignatureInvalid):
        make_gateway().parse_notification(
            body.replace(b"buyer_open_id=074a", b"buyer_open_id=075a"), FORM
        )


def test_a_gbk_notification_is_decoded_in_its_declared_charset(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    body = signed_body(platform_key, fields(charset="gbk"), charset="gbk")

    assert parse_form(body)["subject"] == "茶 & cake = 2/3"
    assert (
        make_gateway().parse_notification(
            body, {"content-type": "application/x-www-form-urlencoded"}
        )
        is not None
    )


def test_the_content_type_header_is_not_trusted(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    body = signed_body(platform_key, fields())

    assert make_gateway().parse_notification(body, {"content-type": "text/plain"}) is not None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe",
        b"a=1&b=2",
        b"{}",
        b"sign=abc",
        b"sign=abc&sign=abd",
        b"subject=%FF&sign=a",
        b"charset=klingon&sign=a",
    ],
)
def test_garbage_is_a_vendor_error(make_gateway: GatewayFactory, body: bytes) -> None:
    with pytest.raises(VendorError):
        make_gateway().parse_notification(body, FORM)


def test_a_repeated_field_is_refused_so_no_value_is_ever_a_list(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    body = signed_body(platform_key, fields()) + b"&trade_status=TRADE_SUCCESS"

    with pytest.raises(VendorError, match="repeated"):
        make_gateway().parse_notification(body, FORM)


def test_a_huge_body_is_refused(make_gateway: GatewayFactory) -> None:
    with pytest.raises(VendorError, match="too large"):
        make_gateway().parse_notification(b"a=" + b"x" * 70_000, FORM)


def test_errors_never_carry_the_signature(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    body = signed_body(platform_key, fields(app_id="2021000000000999"))
    sign = parse_form(body)["sign"]

    with pytest.raises(SignatureInvalid) as raised:
        make_gateway().parse_notification(body, FORM)

    assert sign[:12] not in str(raised.value)


def pairs_of(text: str) -> list[tuple[str, str]]:
    """``text`` cut at every ``&`` and each part at its first ``=``."""
    return [(name, value) for name, _, value in (part.partition("=") for part in text.split("&"))]


def folded(text: str, into: str, until: str) -> list[tuple[str, str]]:
    """The signed ``text`` read another way: ``into``'s value runs on up to ``until``.

    This is how the black-box probe re-split a genuine notification: the genuine
    ``out_trade_no`` disappears into ``notify_type`` and the pairs the customer wrote
    into ``subject`` become fields of their own.
    """
    head, rest = text.split(f"&{into}=", 1)
    swallowed, tail = rest.split(until, 1)
    return [*pairs_of(head), (into, swallowed), *pairs_of(until.removeprefix("&") + tail)]


def body_of(pairs: list[tuple[str, str]], sign: str) -> bytes:
    sent = [*pairs, ("sign_type", "RSA2"), ("sign", sign)]
    return urlencode(sent, quote_via=quote_plus).encode("ascii")


HOSTILE_SUBJECT = (
    f"x&out_trade_no=P9_B1&point_amount=0.00&receipt_amount=12.30&seller_id={SELLER_ID}&subject=y"
)


def test_a_genuine_notification_re_split_to_name_another_attempt_is_refused(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory
) -> None:
    text = canonical_string(fields(subject=HOSTILE_SUBJECT), NOTIFICATION_EXCLUDED)
    forged = folded(text, "notify_type", "&out_trade_no=P9_B1")
    assert canonical_string(dict(forged), NOTIFICATION_EXCLUDED) == text  # still verifies
    assert dict(forged)["out_trade_no"] == "P9_B1"

    with pytest.raises(VendorError):
        make_gateway().parse_notification(body_of(forged, sign_rsa2(platform_key, text)), FORM)


@pytest.mark.parametrize(
    "notify_type", ["batch_trans_notify", "TRADE_STATUS_SYNC", "trade_status_sync ", ""]
)
def test_a_notification_of_another_type_is_refused(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory, notify_type: str
) -> None:
    body = signed_body(platform_key, fields(notify_type=notify_type))

    with pytest.raises(VendorError, match="notify_type"):
        make_gateway().parse_notification(body, FORM)


@pytest.mark.parametrize(
    "value",
    [
        "tea&total_amount=0.01",
        "tea&out_trade_no=P9_B1",
        "&x=",
        "a&B_2=c",
    ],
)
def test_a_signed_value_that_reads_as_more_fields_is_refused(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory, value: str
) -> None:
    for name in ("subject", "body", "passback_params", "fund_bill_list"):
        body = signed_body(platform_key, fields(**{name: value}))

        with pytest.raises(SignatureInvalid, match="more than one way"):
            make_gateway().parse_notification(body, FORM)


@pytest.mark.parametrize(
    "value", ["茶 & cake = 2/3", "a&b", "a=b", "x & y=z", "&", "=&=", "a&-b=c"]
)
def test_separators_that_cannot_start_a_field_are_accepted(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory, value: str
) -> None:
    body = signed_body(platform_key, fields(body=value))

    assert make_gateway().parse_notification(body, FORM) is not None


@pytest.mark.parametrize("name", ["a=b", "a&b", "sub ject", "", "x-y", "主题"])
def test_a_field_name_that_is_not_a_plain_name_is_refused(
    platform_key: RSAPrivateKey, make_gateway: GatewayFactory, name: str
) -> None:
    body = signed_body(platform_key, fields() | {name: "1"})

    with pytest.raises(SignatureInvalid, match="more than one way"):
        make_gateway().parse_notification(body, FORM)
