import itertools

import toolz
import toolz.curried
import toolz.itertoolz
import toolz.sandbox
import toolz.sandbox.core


def test_unzip_is_part_of_itertoolz():
    assert toolz.itertoolz.unzip.__module__ == "toolz.itertoolz"
    assert "unzip" in toolz.itertoolz.__all__
    assert toolz.unzip is toolz.itertoolz.unzip


def test_sandbox_names_still_work_and_are_the_same_function():
    assert toolz.sandbox.unzip is toolz.itertoolz.unzip
    assert toolz.sandbox.core.unzip is toolz.itertoolz.unzip
    from toolz.sandbox import EqualityHashKey, fold  # noqa: F401  the rest of the sandbox is untouched


def test_curried_namespace_exposes_it_uncurried():
    assert toolz.curried.unzip is toolz.itertoolz.unzip


def test_tlz_exposes_it():
    import tlz

    letters, numbers = tlz.unzip([("a", 1), ("b", 2)])
    assert list(letters) == ["a", "b"] and list(numbers) == [1, 2]


def test_unzip_behaviour_is_kept():
    letters, numbers = toolz.sandbox.unzip([("a", 1), ("b", 2), ("c", 3)])
    assert list(letters) == ["a", "b", "c"]
    assert list(numbers) == [1, 2, 3]
    assert toolz.sandbox.unzip([]) == ()
    evens, odds = toolz.sandbox.unzip((2 * i, 2 * i + 1) for i in itertools.count())
    assert list(itertools.islice(odds, 3)) == [1, 3, 5]
    assert list(itertools.islice(evens, 2)) == [0, 2]
