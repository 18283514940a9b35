from decimal import Decimal

import pytest

from ledgerlite import parse_amount


@pytest.mark.parametrize("text,expected", [("12.50", "12.50"), ("-3", "-3"), (" 7.1 ", "7.1")])
def test_plain_amounts(text, expected):
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "--1"])
def test_rejects_garbage(text):
    with pytest.raises(ValueError):
        parse_amount(text)
