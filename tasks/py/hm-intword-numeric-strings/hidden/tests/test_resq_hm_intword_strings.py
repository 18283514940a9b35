import pytest

import humanize


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.5e9", "1.5 billion"),
        ("1234567.89", "1.2 million"),
        ("-2.5e6", "-2.5 million"),
        ("1e100", "1.0 googol"),
        ("9.99e5", "999.0 thousand"),
        ("12.0", "12"),
        (" 4.2e12 ", "4.2 trillion"),
    ],
)
def test_numeric_strings_with_decimals_or_exponents(value, expected):
    assert humanize.intword(value) == expected


def test_string_and_float_give_the_same_result():
    for number in (1.5e9, 2.25e6, -7.5e15, 999.9):
        assert humanize.intword(str(number)) == humanize.intword(number)


def test_custom_format_applies():
    assert humanize.intword("1.2345e6", "%0.3f") == "1.234 million"


def test_integer_strings_unchanged():
    assert humanize.intword("1000000") == "1.0 million"
    assert humanize.intword("12400") == "12.4 thousand"
    assert humanize.intword("100") == "100"


@pytest.mark.parametrize("value", ["abc", "1.5e9x", "", "1,5"])
def test_non_numbers_are_returned_as_is(value):
    assert humanize.intword(value) == value


def test_non_finite_strings_unchanged():
    assert humanize.intword("nan") == "NaN"
    assert humanize.intword("-inf") == "-Inf"
