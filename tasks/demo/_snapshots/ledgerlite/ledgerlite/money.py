"""Exact money amounts in one currency, stored as Decimal and kept to the currency's minor unit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

MINOR_UNITS = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "KWD": 3}


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str = "USD"

    def __post_init__(self):
        if self.currency not in MINOR_UNITS:
            raise ValueError(f"unknown currency {self.currency!r}")
        exact = Decimal(self.amount).quantize(quantum(self.currency), rounding=ROUND_HALF_EVEN)
        object.__setattr__(self, "amount", exact)

    @classmethod
    def zero(cls, currency: str = "USD") -> "Money":
        return cls(Decimal(0), currency)

    def _check(self, other: "Money") -> None:
        if not isinstance(other, Money):
            raise TypeError("can only combine Money with Money")
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} and {other.currency}")

    def __add__(self, other: "Money") -> "Money":
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor) -> "Money":
        return Money(self.amount * Decimal(str(factor)), self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    def allocate(self, ratios: list[int]) -> list["Money"]:
        """Split this amount in proportion to `ratios` (for example rent shared by floor area)."""
        if not ratios or any(r < 0 for r in ratios) or sum(ratios) == 0:
            raise ValueError("ratios must be non-negative and not all zero")
        total = sum(ratios)
        step = quantum(self.currency)
        parts = []
        for ratio in ratios:
            share = (self.amount * ratio / total).quantize(step, rounding=ROUND_HALF_EVEN)
            parts.append(Money(share, self.currency))
        return parts

    def format(self) -> str:
        sign = "-" if self.amount < 0 else ""
        return f"{sign}{abs(self.amount):,} {self.currency}"

    def __str__(self) -> str:
        return self.format()
