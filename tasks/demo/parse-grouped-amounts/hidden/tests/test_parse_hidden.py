from decimal import Decimal

import pytest

from ledgerlite import parse_amount


@pytest.mark.parametrize("text,expected", [
    ("1,234.56", "1234.56"), ("12,000", "12000"), ("1,234,567.89", "1234567.89"), ("(12.50)", "-12.50"),
    ("$12", "12"), ("-$3.50", "-3.50"), ("€1,000.00", "1000.00"), ("(£2,500)", "-2500"), ("999", "999"),
])
def test_accepts_human_amounts(text, expected):
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", [
    "12,34.00", "1,2345", ",123", "123,", "1,,234", "(12.50", "12.50)", "((1))", "$$1", "¥100", "1,234.5.6",
])
def test_still_rejects_typos(text):
    with pytest.raises(ValueError) as error:
        parse_amount(text)
    assert text in str(error.value)
