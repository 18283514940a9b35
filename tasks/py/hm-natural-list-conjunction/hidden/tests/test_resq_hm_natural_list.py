import pytest

import humanize


def test_default_output_unchanged():
    assert humanize.natural_list(["one", "two", "three"]) == "one, two and three"
    assert humanize.natural_list(["one", "two"]) == "one and two"
    assert humanize.natural_list(["one"]) == "one"
    assert humanize.natural_list([]) == ""


def test_custom_conjunction():
    assert humanize.natural_list(["red", "green", "blue"], conjunction="or") == "red, green or blue"
    assert humanize.natural_list(["tea", "coffee"], conjunction="or") == "tea or coffee"
    assert humanize.natural_list(["a", "b", "c"], conjunction="&") == "a, b & c"


def test_oxford_comma():
    assert humanize.natural_list(["red", "green", "blue"], oxford=True) == "red, green, and blue"
    assert humanize.natural_list([1, 2, 3, 4], oxford=True, conjunction="or") == "1, 2, 3, or 4"


def test_no_oxford_comma_for_two_items_or_fewer():
    assert humanize.natural_list(["tea", "coffee"], oxford=True) == "tea and coffee"
    assert humanize.natural_list(["tea"], oxford=True, conjunction="or") == "tea"


def test_items_are_stringified_and_generators_accepted():
    assert humanize.natural_list((n * n for n in range(1, 4)), conjunction="or") == "1, 4 or 9"


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        humanize.natural_list(["a", "b"], "or")
