import re
from decimal import Decimal

import pytest

from measures import LENGTHS, convert

UNIT = "chain"
METRES = Decimal("20.1168")


def test_new_unit_is_exact():
    assert LENGTHS[UNIT] == METRES
    assert convert(1, UNIT, "m") == METRES
    assert convert(METRES * 3, "m", UNIT) == 3


def test_round_trip_through_feet():
    feet = convert(2, UNIT, "ft")
    assert convert(feet, "ft", UNIT) == 2


def test_unknown_unit_is_a_value_error_listing_known_units():
    with pytest.raises(ValueError) as error:
        convert(1, "parsec", "m")
    message = str(error.value)
    assert "parsec" in message
    named = [word for word in re.findall(r"[A-Za-z]+", message) if word in LENGTHS]
    assert named[-len(LENGTHS):] == sorted(LENGTHS)


def test_unknown_target_too():
    with pytest.raises(ValueError, match="lightyear"):
        convert(1, "m", "lightyear")


def test_existing_units_unchanged():
    assert convert(1, "yd", "in") == 36
