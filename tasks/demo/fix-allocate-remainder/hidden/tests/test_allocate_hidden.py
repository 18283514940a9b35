from decimal import Decimal

import pytest

from ledgerlite import Money


def amounts(parts):
    return [p.amount for p in parts]


def test_three_way_split_keeps_every_cent():
    parts = Money(Decimal("100.00")).allocate([1, 1, 1])
    assert sum(amounts(parts)) == Decimal("100.00")


def test_leftover_goes_to_first_parts():
    parts = Money(Decimal("0.05")).allocate([1, 1, 1])
    assert amounts(parts) == [Decimal("0.02"), Decimal("0.02"), Decimal("0.01")]
    weighted = Money(Decimal("10.00")).allocate([3, 7, 1])
    assert sum(amounts(weighted)) == Decimal("10.00")
    assert amounts(weighted) == [Decimal("2.73"), Decimal("6.37"), Decimal("0.90")]


def test_yen_has_no_minor_unit():
    parts = Money(Decimal("100"), "JPY").allocate([1, 1, 1])
    assert amounts(parts) == [Decimal("34"), Decimal("33"), Decimal("33")]
    assert all(p.currency == "JPY" for p in parts)


def test_refunds_split_exactly():
    parts = Money(Decimal("-100.00")).allocate([1, 1, 1])
    assert sum(amounts(parts)) == Decimal("-100.00")
    assert amounts(parts) == [Decimal("-33.34"), Decimal("-33.33"), Decimal("-33.33")]


def test_even_split_unchanged():
    assert amounts(Money(Decimal("9.00")).allocate([1, 2])) == [Decimal("3.00"), Decimal("6.00")]
    with pytest.raises(ValueError):
        Money(Decimal("1")).allocate([])
