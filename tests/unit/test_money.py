"""Money: exact minor units, strict parsing at the edges, no arithmetic across currencies."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from payments_core.errors import AmountNotSupported, CurrencyMismatch
from payments_core.money import Money

MAX_MINOR = 100_000_000 * 100


@pytest.mark.parametrize(
    ("amount", "minor"),
    [
        ("0.01", 1),
        ("88.88", 8888),
        ("1000.1", 100010),
        ("1000.10", 100010),
        ("100000000", MAX_MINOR),
        ("100000000.00", MAX_MINOR),
        (Decimal("12.30"), 1230),
        (Decimal("1E+2"), 10000),
        (5, 500),
    ],
    ids=repr,
)
def test_parse_accepts_positive_amounts_with_at_most_two_decimals(
    amount: str | Decimal | int, minor: int
) -> None:
    money = Money.parse(amount)

    assert money == Money(minor, "CNY")


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("0", "greater than 0"),
        (0, "greater than 0"),
        ("0.00", "greater than 0"),
        ("-1", "greater than 0"),
        (Decimal("-0.01"), "greater than 0"),
        ("100000000.01", "at most 100000000"),
        (100_000_001, "at most 100000000"),
        ("1.001", "more than two decimals"),
        ("0.005", "more than two decimals"),
        ("NaN", "not a number"),
        (Decimal("NaN"), "not a number"),
        ("Infinity", "not a number"),
        ("abc", "not a number"),
        ("", "not a number"),
        (1.5, "not an exact decimal"),
        (0.1, "not an exact decimal"),
        (True, "not an exact decimal"),
        (False, "not an exact decimal"),
        (None, "not an exact decimal"),
    ],
    ids=repr,
)
def test_parse_rejects_what_cannot_be_paid(amount: object, reason: str) -> None:
    with pytest.raises(AmountNotSupported, match=reason) as err:
        Money.parse(amount)  # type: ignore[arg-type]  # the wrong types are the point

    assert err.value.code == "amount_not_supported"


def test_parse_keeps_the_currency() -> None:
    money = Money.parse("9.99", "USD")

    assert money == Money(999, "USD")


def test_a_currency_must_be_three_capital_letters() -> None:
    with pytest.raises(ValueError, match="currency"):
        Money(100, "cny")


def test_minor_units_must_be_an_int() -> None:
    with pytest.raises(TypeError, match="minor"):
        Money(1.5, "CNY")  # type: ignore[arg-type]  # a float is the point


@pytest.mark.parametrize(
    ("minor", "text"),
    [(1, "0.01"), (10, "0.10"), (100, "1.00"), (100010, "1000.10"), (MAX_MINOR, "100000000.00")],
)
def test_to_decimal_has_exactly_two_decimals(minor: int, text: str) -> None:
    value = Money(minor, "CNY").to_decimal()

    assert value == Decimal(text)
    assert str(value) == text
    assert str(Money(minor, "CNY")) == text


def test_adding_the_same_currency_adds_minor_units() -> None:
    total = Money.parse("0.10") + Money.parse("0.20")

    assert total == Money(30, "CNY")
    assert total.to_decimal() == Decimal("0.30")


def test_adding_across_currencies_raises_currency_mismatch() -> None:
    with pytest.raises(CurrencyMismatch, match="CNY with USD") as err:
        Money(100, "CNY") + Money(100, "USD")

    assert (err.value.left, err.value.right) == ("CNY", "USD")


def test_money_of_different_currencies_is_not_equal() -> None:
    assert Money(100, "CNY") != Money(100, "USD")


@given(st.integers(min_value=1, max_value=MAX_MINOR))
@example(1)
@example(MAX_MINOR)
@example(10)
def test_parse_reads_back_every_valid_amount_exactly(minor: int) -> None:
    money = Money(minor, "CNY")

    assert Money.parse(money.to_decimal()) == money
    assert Money.parse(str(money)) == money


@pytest.mark.parametrize(
    "text",
    [
        "1E+2",
        "1e2",
        " 12.34",
        "12.34 ",
        "12.34\n",
        "\u0661\u0662.\u0663\u0664",  # Arabic-Indic digits: Decimal() reads them as 12.34
        "\uff11\uff12",  # fullwidth digits
        "12_34",
        "+5",
        ".5",
        "5.",
        "0x10",
        "1,000.00",
        "12.3.4",
        "-",
    ],
    ids=repr,
)
def test_parse_reads_only_plain_ascii_decimals_from_text(text: str) -> None:
    with pytest.raises(AmountNotSupported, match="not a number"):
        Money.parse(text)


@pytest.mark.parametrize(
    "currency", ["", "usd", "US", "USDX", "US1", "\uff35\uff33\uff24", "USD\n"]
)
def test_parse_refuses_a_currency_that_is_not_three_capital_letters(currency: str) -> None:
    with pytest.raises(AmountNotSupported, match="currency"):
        Money.parse("12.34", currency)


def test_a_refused_amount_is_quoted_short_in_the_error() -> None:
    with pytest.raises(AmountNotSupported) as err:
        Money.parse("9" * 10_000)

    assert len(str(err.value)) < 120
