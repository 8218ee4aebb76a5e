"""The wire format of a payment: field names and order, times, exact amounts, reading back."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import cattrs
import pytest
from attrs import evolve
from hypothesis import example, given
from hypothesis import strategies as st

from payments_core.converters import (
    PaymentView,
    dumps,
    format_time,
    loads,
    make_converter,
    parse_time,
    payment_json,
    read_payment,
)
from payments_core.inmemory import FrozenClock, InMemoryPaymentRepository
from payments_core.money import Money
from payments_core.payment import Payment, PaymentStatus
from payments_core.testing import new_payment

CONTRACT_FIELDS = [
    "id",
    "order",
    "orderString",
    "createdAt",
    "updatedAt",
    "payer",
    "subject",
    "description",
    "totalAmount",
    "status",
    "vendorTradeId",
    "confirmedAt",
    "confirmed",
    "valid",
]
MOMENT = datetime(2019, 4, 19, 15, 31, 20, 807000, tzinfo=UTC)
MAX_MINOR = 100_000_000 * 100


def _stored(clock: FrozenClock | None = None) -> Payment:
    clock = clock or FrozenClock(MOMENT)
    return InMemoryPaymentRepository().add(new_payment(clock))


def _confirmed(clock: FrozenClock) -> Payment:
    payment = _stored(clock)
    clock.advance(timedelta(seconds=42, milliseconds=5))
    return payment.confirm(payment.attempts[0].reference, trade_id="T2019", at=clock.now())


def _timed_out(payment: Payment) -> Payment:
    closed = payment.close_attempt(payment.attempts[0].reference, at=payment.updated_at)
    return closed.transition(PaymentStatus.TIMEOUT, at=payment.updated_at)


def _unstructured(view: PaymentView) -> dict[str, Any]:
    document: dict[str, Any] = make_converter().unstructure(view)
    return document


def _as_json_number(amount: Decimal) -> str:
    """How a JSON number of this value reads: trailing zeros dropped, one decimal kept."""
    whole, _, fraction = f"{amount:f}".partition(".")
    return f"{whole}.{fraction.rstrip('0') or '0'}"


def test_payment_json_has_exactly_the_contract_fields_in_order() -> None:
    document = payment_json(_stored())

    assert list(document) == CONTRACT_FIELDS


def test_payment_json_of_a_pending_payment_carries_its_values() -> None:
    payment = _stored()

    document = payment_json(payment)

    assert document == {
        "id": payment.id,
        "order": payment.order_id,
        "orderString": payment.attempts[0].order_string,
        "createdAt": "2019-04-19T15:31:20.807+0000",
        "updatedAt": "2019-04-19T15:31:20.807+0000",
        "payer": "alice",
        "subject": "Tea 茶 ☕",
        "description": "two boxes",
        "totalAmount": Decimal("1000.12"),
        "status": "PENDING",
        "vendorTradeId": None,
        "confirmedAt": None,
        "confirmed": False,
        "valid": False,
    }


def test_times_are_utc_with_milliseconds_and_plus_0000() -> None:
    beijing = timezone(timedelta(hours=8))

    assert format_time(MOMENT) == "2019-04-19T15:31:20.807+0000"
    assert format_time(MOMENT.replace(microsecond=807999)) == "2019-04-19T15:31:20.807+0000"
    assert format_time(datetime(2019, 4, 19, 23, 31, 20, tzinfo=beijing)) == (
        "2019-04-19T15:31:20.000+0000"
    )


def test_a_confirmed_payment_is_confirmed_and_valid_with_its_confirmation_time() -> None:
    document = payment_json(_confirmed(FrozenClock(MOMENT)))

    assert document["status"] == "CONFIRMED"
    assert document["confirmed"] is True
    assert document["valid"] is True
    assert document["confirmedAt"] == "2019-04-19T15:32:02.812+0000"
    assert document["updatedAt"] == "2019-04-19T15:32:02.812+0000"
    assert document["vendorTradeId"] == "T2019"


@pytest.mark.parametrize(
    "status", [PaymentStatus.PENDING, PaymentStatus.TIMEOUT, PaymentStatus.INVALID]
)
def test_confirmed_is_false_for_every_other_status(status: PaymentStatus) -> None:
    payment = evolve(_stored(), status=status)

    document = payment_json(payment)

    assert document["status"] == status.value
    assert document["confirmed"] is False


def test_order_string_is_null_when_no_attempt_is_open() -> None:
    document = payment_json(_timed_out(_stored()))

    assert document["status"] == "TIMEOUT"
    assert document["orderString"] is None


def test_an_unsaved_payment_has_no_wire_form() -> None:
    with pytest.raises(ValueError, match="unsaved"):
        payment_json(new_payment(FrozenClock()))


def test_dumps_writes_the_envelope_with_the_amount_as_a_number() -> None:
    payment = _stored()

    text = dumps({"data": payment_json(payment)}).decode()

    assert '"totalAmount":1000.12,' in text
    assert '"description":"two boxes"' in text
    assert "茶" in text
    assert loads(text)["data"]["totalAmount"] == Decimal("1000.12")


@given(st.integers(min_value=1, max_value=MAX_MINOR))
@example(1)
@example(10)
@example(100)
@example(10_000_000_001)
@example(MAX_MINOR - 1)
@example(MAX_MINOR)
def test_dumps_writes_every_amount_exactly_with_at_most_two_decimals(minor: int) -> None:
    amount = Money(minor, "CNY").to_decimal()

    text = dumps(amount).decode()

    assert text == _as_json_number(amount)
    assert re.fullmatch(r"[1-9]\d*\.\d{1,2}|0\.\d{1,2}", text)
    assert loads(text) == amount


def test_dumps_refuses_a_decimal_it_cannot_write_exactly() -> None:
    with pytest.raises(ValueError, match="no exact JSON number form"):
        dumps(Decimal("12345678901234567.89"))


def test_dumps_refuses_objects_json_does_not_know() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps({"when": MOMENT})


def test_read_payment_round_trips_a_confirmed_payment() -> None:
    payment = _confirmed(FrozenClock(MOMENT))
    document = payment_json(payment)

    view = read_payment(loads(dumps(document)))

    assert view == PaymentView.of(payment)
    assert make_converter().unstructure(view) == document


def test_read_payment_round_trips_nulls() -> None:
    document = payment_json(evolve(_timed_out(_stored()), description=None))

    view = read_payment(loads(dumps(document)))

    assert view.order_string is None
    assert view.description is None
    assert view.confirmed_at is None
    assert _unstructured(view) == document


def test_read_payment_rejects_an_extra_key() -> None:
    document = {**payment_json(_stored()), "secret": "x"}

    with pytest.raises(cattrs.ClassValidationError):
        read_payment(document)


def test_read_payment_rejects_a_missing_key() -> None:
    document = payment_json(_stored())
    del document["valid"]

    with pytest.raises(cattrs.ClassValidationError):
        read_payment(document)


@pytest.mark.parametrize(
    "time",
    [
        "2019-04-19T15:31:20Z",
        "2019-04-19T15:31:20.807Z",
        "2019-04-19T15:31:20.807+00:00",
        "2019-04-19T15:31:20.807+0800",
        "2019-04-19 15:31:20.807+0000",
        "2019-04-19T15:31:20.807123+0000",
        "2019-13-19T15:31:20.807+0000",
        "yesterday",
        1555687880807,
    ],
)
def test_read_payment_rejects_a_time_in_another_form(time: object) -> None:
    document = {**payment_json(_stored()), "createdAt": time}

    with pytest.raises(cattrs.ClassValidationError):
        read_payment(document)


@pytest.mark.parametrize(
    "amount", [Decimal("1000.123"), "1000.123", 0.001, "abc", True, None, [1]], ids=repr
)
def test_read_payment_rejects_an_amount_that_is_not_two_decimals(amount: object) -> None:
    document = {**payment_json(_stored()), "totalAmount": amount}

    with pytest.raises(cattrs.ClassValidationError):
        read_payment(document)


def test_read_payment_rejects_an_unknown_status() -> None:
    document = {**payment_json(_stored()), "status": "PAID"}

    with pytest.raises(cattrs.ClassValidationError):
        read_payment(document)


def test_parse_time_is_the_inverse_of_format_time() -> None:
    assert parse_time("2019-04-19T15:31:20.807+0000") == MOMENT
    assert parse_time(format_time(MOMENT)).tzinfo is UTC
