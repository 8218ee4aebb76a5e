"""Genuine signed notifications cut into fields every other way: none confirms anything else.

Alipay signs ``name=value`` pairs joined with ``&``, raw. Whoever holds a genuine
notification can choose where its signed text is cut: which ``&`` end a field, which
``=`` ends a name, and may add fields with empty values (they are not signed). The
genuine texts here are signed directly with the test platform key and carry ``&``, ``=``
and field names inside their free-text values (our checkout never lets that happen, so
this tests the verifier on its own). Whatever is accepted must describe exactly the paid
attempt, with its real amount and trade id.
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote_plus, urlencode

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments_alipay import canonical_string, sign_rsa2
from payments_alipay.signing import NOTIFICATION_EXCLUDED
from payments_core.errors import VendorError
from payments_core.inmemory import FrozenClock, InMemoryOrders, InMemoryPaymentRepository
from payments_core.money import Money
from payments_core.payment import Payment, PaymentStatus
from payments_core.services import PaymentService
from payments_core.testing import unique
from payments_core.values import Caller, Order, TradeReport, TradeStatus
from tests.alipay.conftest import APP_ID, FIXED_NOW, SELLER_ID, GatewayFactory

FORM = {"content-type": "application/x-www-form-urlencoded"}
TRADE_NO = "2024052022001400001234567890"
ALICE = Caller(username="alice", roles=frozenset({"CUSTOMER"}))
_WORDS = [
    "&",
    "=",
    "&=",
    " ",
    "x",
    "w",
    "out_trade_no",
    "total_amount",
    "trade_no",
    "trade_status",
    "notify_type",
    "seller_id",
    "app_id",
    "subject",
    "version",
    "TRADE_SUCCESS",
    "trade_status_sync",
    "0.01",
    "12.30",
    "2099FAKE",
    SELLER_ID,
    "{B}",
    "{C}",
]
HOSTILE = st.lists(st.sampled_from(_WORDS), max_size=14).map("".join)
FREE_TEXT = st.fixed_dictionaries(
    {"subject": HOSTILE},
    optional={"body": HOSTILE, "passback_params": HOSTILE, "voucher_detail_list": HOSTILE},
)


def genuine_fields(reference: str, free_text: dict[str, str]) -> dict[str, str]:
    """A paid notification of ``reference`` for 12.30, as Alipay would sign it."""
    fields = {
        "app_id": APP_ID,
        "auth_app_id": APP_ID,
        "charset": "utf-8",
        "gmt_payment": "2024-05-20 13:15:10",
        "notify_id": "2024052000222131510012345678901234",
        "notify_time": "2024-05-20 13:15:11",
        "notify_type": "trade_status_sync",
        "out_trade_no": reference,
        "seller_id": SELLER_ID,
        "total_amount": "12.30",
        "trade_no": TRADE_NO,
        "trade_status": "TRADE_SUCCESS",
        "version": "1.0",
    }
    return fields | {k: v for k, v in free_text.items() if v}


@st.composite
def cuts(draw: st.DrawFn, genuine: dict[str, str]) -> list[tuple[str, str]]:
    """The genuine signed text cut into name/value pairs another way.

    Up to three ``&`` change role (a field's end becomes part of a value, or a value's
    ``&`` ends a field), a name may end at its part's last ``=`` instead of its first,
    and an unsigned (empty) field may be added or a field dropped.
    """
    text = canonical_string(genuine, NOTIFICATION_EXCLUDED)
    ampersands = [i for i, c in enumerate(text) if c == "&"]
    flipped = draw(st.sets(st.sampled_from(ampersands), max_size=3)) if ampersands else set()
    boundaries = sorted(_field_ends(genuine) ^ flipped)
    starts, ends = [-1, *boundaries], [*boundaries, len(text)]
    parts = [text[a + 1 : b] for a, b in zip(starts, ends, strict=True)]
    late_split = draw(st.sets(st.integers(0, len(parts) - 1), max_size=2))
    pairs = []
    for n, part in enumerate(parts):
        at = part.rfind("=") if n in late_split else part.find("=")
        pairs.append((part[:at], part[at + 1 :]) if at >= 0 else (part, ""))
    if draw(st.booleans()):
        pairs.append((draw(st.sampled_from(["zz", "a=b", "out_trade_nos", "&"])), ""))
    if draw(st.integers(0, 9)) == 0:
        pairs.pop(draw(st.integers(0, len(pairs) - 1)))
    return pairs


def _field_ends(genuine: dict[str, str]) -> set[int]:
    """Where Alipay's own cut of the signed text puts an ``&``."""
    ends, at = set(), -1
    for name in sorted(k for k, v in genuine.items() if v and k not in NOTIFICATION_EXCLUDED):
        at += len(name) + len(genuine[name]) + 2
        ends.add(at)
    return ends - {at}


def body_of(pairs: list[tuple[str, str]], sign: str) -> bytes:
    sent = [*pairs, ("sign_type", "RSA2"), ("sign", sign)]
    return urlencode(sent, quote_via=quote_plus).encode("ascii")


def signed_cut(
    key: RSAPrivateKey, genuine: dict[str, str], data: st.DataObject
) -> tuple[bytes, bool]:
    """A body cutting the genuine signed text another way; True when that cut differs
    from Alipay's own and its signature still verifies."""
    text = canonical_string(genuine, NOTIFICATION_EXCLUDED)
    pairs = data.draw(cuts(genuine), label="cut")
    names = [name for name, _ in pairs]
    verifies = len(set(names)) == len(names) and (
        canonical_string(dict(pairs), NOTIFICATION_EXCLUDED) == text
    )
    signed = {k: v for k, v in genuine.items() if v}
    return body_of(pairs, sign_rsa2(key, text)), verifies and dict(pairs) != signed


EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@EXAMPLES
@given(free_text=FREE_TEXT, data=st.data())
def test_whatever_cut_the_verifier_accepts_describes_exactly_the_paid_attempt(
    platform_key: RSAPrivateKey,
    make_gateway: GatewayFactory,
    free_text: dict[str, str],
    data: st.DataObject,
) -> None:
    values = {k: v.format(B="P9_B1", C="P9_C1") for k, v in free_text.items()}
    body, _ = signed_cut(platform_key, genuine_fields("P7_A2", values), data)

    try:
        report = make_gateway().parse_notification(body, FORM)
    except VendorError:
        return

    assert report == TradeReport(
        vendor="alipay",
        reference="P7_A2",
        status=TradeStatus.PAID,
        trade_id=TRADE_NO,
        amount=Money(1230),
        merchant_matches=True,
    )


@EXAMPLES
@given(free_text=FREE_TEXT, data=st.data())
def test_no_cut_of_a_paid_attempts_notification_confirms_another_payment(
    platform_key: RSAPrivateKey,
    make_gateway: GatewayFactory,
    free_text: dict[str, str],
    data: st.DataObject,
) -> None:
    service = _service(make_gateway)
    paid, same_amount, other_amount = (_create(service, t) for t in ("12.30", "12.30", "0.01"))
    ids = {p.attempts[0].reference: p for p in (same_amount, other_amount)}
    b, c = list(ids)
    values = {k: v.format(B=b, C=c) for k, v in free_text.items()}
    genuine = genuine_fields(paid.attempts[0].reference, values)
    body, _ = signed_cut(platform_key, genuine, data)

    service.handle_notification("alipay", body, FORM)

    for untouched in ids.values():
        assert service.get(ALICE, untouched.id or 0) == untouched
    after = service.get(ALICE, paid.id or 0)
    assert after == paid or (
        after.status is PaymentStatus.CONFIRMED
        and after.vendor_trade_id == TRADE_NO
        and after.attempts[0].vendor_trade_id == TRADE_NO
    )


def test_many_cuts_are_other_cuts_that_still_verify(platform_key: RSAPrivateKey) -> None:
    """The properties above are not won by signature failures or Alipay's own cut alone."""
    verified = []

    @EXAMPLES
    @given(free_text=FREE_TEXT, data=st.data())
    def count(free_text: dict[str, str], data: st.DataObject) -> None:
        verified.append(signed_cut(platform_key, genuine_fields("P7_A2", free_text), data)[1])

    count()

    assert sum(verified) > len(verified) / 4


@pytest.mark.parametrize(
    ("free_text", "cut"),
    [
        ({"subject": "a&t=b"}, [("subject", "a"), ("t", "b")]),
        ({"body": "tea&buyer_id=2088"}, [("body", "tea"), ("buyer_id", "2088")]),
    ],
)
def test_a_cut_that_only_splits_an_unread_value_is_accepted_and_reads_the_same(
    platform_key: RSAPrivateKey,
    make_gateway: GatewayFactory,
    free_text: dict[str, str],
    cut: list[tuple[str, str]],
) -> None:
    genuine = genuine_fields("P7_A2", free_text)
    text = canonical_string(genuine, NOTIFICATION_EXCLUDED)
    fields = {k: v for k, v in genuine.items() if k not in free_text} | dict(cut)
    assert canonical_string(fields, NOTIFICATION_EXCLUDED) == text

    report = make_gateway().parse_notification(
        body_of(list(fields.items()), sign_rsa2(platform_key, text)), FORM
    )

    assert report is not None
    assert (report.reference, report.trade_id, report.amount) == ("P7_A2", TRADE_NO, Money(1230))


def _service(make_gateway: GatewayFactory) -> PaymentService:
    return PaymentService(
        repo=InMemoryPaymentRepository(),
        vendors={"alipay": make_gateway()},
        orders=InMemoryOrders(),
        clock=FrozenClock(FIXED_NOW),
        default_vendor="alipay",
    )


def _create(service: PaymentService, total: str) -> Payment:
    order = Order(id=unique("order-"), buyer="alice", total=Decimal(total), status="CREATED")
    orders = service.orders
    assert isinstance(orders, InMemoryOrders)
    orders.put(order)
    return service.create(ALICE, order_id=order.id, subject="tea")
