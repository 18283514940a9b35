from decimal import Decimal

from measures import convert


def test_feet_to_metres():
    assert convert(10, "ft", "m") == Decimal("3.048")


def test_miles_to_km():
    assert convert("1", "mi", "km") == Decimal("1.609344")
