import itertools

import pytest

import toolz
import toolz.curried
import toolz.itertoolz


def test_returns_the_first_matching_item():
    assert toolz.find(lambda x: x > 2, [1, 5, 3, 7]) == 5
    assert toolz.itertoolz.find(str.isupper, "abCdE") == "C"
    assert "find" in toolz.itertoolz.__all__


def test_stops_at_the_first_match():
    numbers = itertools.count(1)
    assert toolz.find(lambda x: x % 4 == 0, numbers) == 4
    assert next(numbers) == 5


def test_default_when_nothing_matches():
    assert toolz.find(lambda x: x > 10, [1, 2], default=None) is None
    assert toolz.find(lambda x: x > 10, [], default="none") == "none"


def test_raises_value_error_without_default():
    with pytest.raises(ValueError):
        toolz.find(lambda x: x > 10, [1, 2])
    with pytest.raises(ValueError):
        toolz.find(bool, iter([]))


def test_a_matching_falsy_item_is_returned():
    assert toolz.find(lambda x: x == 0, [3, 0, 1], default="missing") == 0


def test_non_callable_predicate_is_a_key():
    users = [{"name": "ann", "admin": False}, {"name": "bob", "admin": True}]
    assert toolz.find("admin", users)["name"] == "bob"
    assert toolz.find(1, [(1, 0), (2, 3)]) == (2, 3)


def test_curried():
    first_even = toolz.curried.find(lambda x: x % 2 == 0)
    assert first_even([1, 3, 4, 6]) == 4
    assert toolz.curried.find(bool, default=-1)([0, 0]) == -1


def test_tlz():
    import tlz

    assert tlz.find(bool, [0, "", 7]) == 7
