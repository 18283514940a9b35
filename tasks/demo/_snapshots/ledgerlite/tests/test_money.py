from decimal import Decimal

import pytest

from ledgerlite import Money


def test_rounds_to_minor_unit():
    assert Money(Decimal("1.005")).amount == Decimal("1.00")
    assert Money(Decimal("7.5"), "JPY").amount == Decimal("8")


def test_add_and_subtract():
    assert Money(Decimal("1.10")) + Money(Decimal("2.25")) == Money(Decimal("3.35"))
    assert Money(Decimal("1.10")) - Money(Decimal("2.25")) == Money(Decimal("-1.15"))


def test_currency_mismatch():
    with pytest.raises(ValueError):
        Money(Decimal(1), "USD") + Money(Decimal(1), "EUR")


def test_allocate_even_split():
    parts = Money(Decimal("10.00")).allocate([1, 1])
    assert parts == [Money(Decimal("5.00")), Money(Decimal("5.00"))]


def test_allocate_rejects_bad_ratios():
    with pytest.raises(ValueError):
        Money(Decimal("10")).allocate([0, 0])


def test_format():
    assert Money(Decimal("1234.5")).format() == "1,234.50 USD"
    assert Money(Decimal("-3")).format() == "-3.00 USD"
