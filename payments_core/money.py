"""Exact money: integer minor units and a currency, never a float."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

from attrs import field, frozen, validators

from payments_core.errors import AmountNotSupported, CurrencyMismatch

MAX_AMOUNT: Final = Decimal("100000000")
_CENT: Final = Decimal("0.01")
_CURRENCY: Final = re.compile(r"[A-Z]{3}")
# ASCII digits only: Decimal() also reads " 12.34", "1E+2", "12_34" and "١٢", none of
# which an order or a vendor should be able to pass off as an amount.
_PLAIN: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_SHOWN: Final = 32  # characters of a refused amount quoted in the error


def plain_decimal(text: str) -> Decimal | None:
    """``text`` as a Decimal when it is plain ASCII digits with an optional fraction.

    Returns None for anything else: signs other than a leading ``-``, exponents,
    spaces, underscores, ``NaN``, ``Infinity`` and non-ASCII digits.
    """
    return Decimal(text) if _PLAIN.fullmatch(text) else None


@frozen(order=False)
class Money:
    """An amount in minor units (fen, cents) of one currency with two decimals."""

    minor: int = field(validator=[validators.instance_of(int), validators.ge(0)])
    currency: str = field(default="CNY", validator=validators.matches_re(r"^[A-Z]{3}$"))

    @classmethod
    def parse(cls, amount: Decimal | str | int, currency: str = "CNY") -> Money:
        """Read a payable amount given in major units.

        Args:
            amount: a Decimal, an int, or a string of ASCII digits with an optional
                fraction like ``"88.88"`` (see ``plain_decimal``); never a float.
            currency: ISO 4217 code: three capital letters.

        Raises:
            AmountNotSupported: not a number, not > 0, above 100000000, more than two
                decimals, or a currency that is not three capital letters.
        """
        value = _exact(amount)
        if not _CURRENCY.fullmatch(str(currency)):
            raise AmountNotSupported(_shown(amount), "the currency must be three capital letters")
        if value <= 0:
            raise AmountNotSupported(_shown(amount), "must be greater than 0")
        if value > MAX_AMOUNT:
            raise AmountNotSupported(_shown(amount), f"must be at most {MAX_AMOUNT}")
        if value != value.quantize(_CENT):
            raise AmountNotSupported(_shown(amount), "has more than two decimals")
        return cls(int(value * 100), currency)

    def to_decimal(self) -> Decimal:
        """The amount in major units with exactly two decimals."""
        return (Decimal(self.minor) / 100).quantize(_CENT)

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency)
        return Money(self.minor + other.minor, self.currency)

    def __str__(self) -> str:
        return f"{self.to_decimal()}"


def _exact(amount: object) -> Decimal:
    if isinstance(amount, bool) or not isinstance(amount, Decimal | str | int):
        raise AmountNotSupported(_shown(amount), "not an exact decimal")
    value = plain_decimal(amount) if isinstance(amount, str) else Decimal(amount)
    if value is None or not value.is_finite():
        raise AmountNotSupported(_shown(amount), "not a number")
    return value


def _shown(amount: object) -> str:
    """The amount as an error may quote it: short, whatever was sent."""
    try:
        text = str(amount) if isinstance(amount, Decimal | str | int) else repr(amount)
    except ValueError:  # an int too long for str(); it is refused as too large anyway
        return "a number of more than 4300 digits"
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"
