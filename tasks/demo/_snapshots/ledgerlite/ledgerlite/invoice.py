"""Invoices: line items with quantities and per-line tax rates."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .money import Money


@dataclass(frozen=True)
class LineItem:
    description: str
    quantity: int
    unit_price: Money
    tax_rate: Decimal = Decimal("0")

    def __post_init__(self):
        if self.quantity <= 0:
            raise ValueError("quantity must be positive")

    @property
    def net(self) -> Money:
        return self.unit_price * self.quantity

    @property
    def tax(self) -> Money:
        return self.net * self.tax_rate


@dataclass
class Invoice:
    number: str
    currency: str = "USD"
    items: list[LineItem] = field(default_factory=list)

    def add(self, description: str, quantity: int, unit_price: str, tax_rate: str = "0") -> LineItem:
        item = LineItem(description, quantity, Money(Decimal(unit_price), self.currency), Decimal(tax_rate))
        self.items.append(item)
        return item

    @property
    def subtotal(self) -> Money:
        return sum((item.net for item in self.items), Money.zero(self.currency))

    @property
    def tax_total(self) -> Money:
        return sum((item.tax for item in self.items), Money.zero(self.currency))

    @property
    def total(self) -> Money:
        return self.subtotal + self.tax_total
