import math

import pytest

import humanize

MODES = [{}, {"binary": True}, {"gnu": True}, {"format": "%.3f"}]


@pytest.mark.parametrize("mode", MODES)
def test_nan(mode):
    assert humanize.naturalsize(float("nan"), **mode) == "NaN"


@pytest.mark.parametrize("mode", MODES)
def test_infinities(mode):
    assert humanize.naturalsize(math.inf, **mode) == "+Inf"
    assert humanize.naturalsize(-math.inf, **mode) == "-Inf"


def test_strings_that_parse_to_non_finite_values():
    assert humanize.naturalsize("nan") == "NaN"
    assert humanize.naturalsize("-inf", binary=True) == "-Inf"


def test_same_rendering_as_the_number_functions():
    for value in (math.nan, math.inf, -math.inf):
        assert humanize.naturalsize(value) == humanize.intcomma(value)


def test_finite_values_unchanged():
    assert humanize.naturalsize(3_000_000) == "3.0 MB"
    assert humanize.naturalsize(3000, gnu=True) == "2.9K"
    assert humanize.naturalsize(1) == "1 Byte"
    assert humanize.naturalsize(10**34 * 3) == "30000.0 QB"
