"""Exact money: integer minor units and a currency, never a float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Final

from attrs import field, frozen, validators

from payments_core.errors import AmountNotSupported, CurrencyMismatch

MAX_AMOUNT: Final = Decimal("100000000")
_CENT: Final = Decimal("0.01")


@frozen(order=False)
class Money:
    """An amount in minor units (fen, cents) of one currency with two decimals."""

    minor: int = field(validator=[validators.instance_of(int), validators.ge(0)])
    currency: str = field(default="CNY", validator=validators.matches_re(r"^[A-Z]{3}$"))

    @classmethod
    def parse(cls, amount: Decimal | str | int, currency: str = "CNY") -> Money:
        """Read a payable amount given in major units.

        Args:
            amount: a Decimal, a decimal string like ``"88.88"`` or an int; never a float.
            currency: ISO 4217 code.

        Raises:
            AmountNotSupported: not a number, not > 0, above 100000000 or more than two decimals.
        """
        if isinstance(amount, bool) or not isinstance(amount, Decimal | str | int):
            raise AmountNotSupported(repr(amount), "not an exact decimal")
        try:
            value = Decimal(amount)
        except (InvalidOperation, ValueError):
            raise AmountNotSupported(str(amount), "not a number") from None
        if not value.is_finite():
            raise AmountNotSupported(str(amount), "not a number")
        if value <= 0:
            raise AmountNotSupported(str(amount), "must be greater than 0")
        if value > MAX_AMOUNT:
            raise AmountNotSupported(str(amount), f"must be at most {MAX_AMOUNT}")
        if value != value.quantize(_CENT):
            raise AmountNotSupported(str(amount), "has more than two decimals")
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
