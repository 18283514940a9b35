import ast
import pathlib
from itertools import count, islice

import pytest

import more_itertools as mi
from more_itertools import windowed


def test_fill_is_the_default_and_unchanged():
    assert list(windowed([1, 2, 3, 4, 5], 3, step=2)) == [(1, 2, 3), (3, 4, 5)]
    assert list(windowed([1, 2, 3, 4, 5, 6], 3, step=2)) == [(1, 2, 3), (3, 4, 5), (5, 6, None)]
    assert list(windowed([1, 2, 3, 4, 5, 6], 3, '!', 2, incomplete='fill')) == [
        (1, 2, 3), (3, 4, 5), (5, 6, '!')]


def test_ignore_drops_padded_windows():
    assert list(windowed([1, 2, 3, 4, 5, 6], 3, step=2, incomplete='ignore')) == [(1, 2, 3), (3, 4, 5)]
    assert list(windowed([1, 2, 3, 4, 5], 2, step=2, incomplete='ignore')) == [(1, 2), (3, 4)]
    assert list(windowed([1, 2, 3], 5, incomplete='ignore')) == []
    assert list(windowed([], 2, incomplete='ignore')) == []


def test_ignore_matches_sliding_window_for_step_one():
    data = list(range(7))
    assert list(windowed(data, 3, incomplete='ignore')) == list(mi.sliding_window(data, 3))


def test_strict_raises_instead_of_padding():
    it = windowed([1, 2, 3, 4, 5], 2, step=2, incomplete='strict')
    assert next(it) == (1, 2)
    assert next(it) == (3, 4)
    with pytest.raises(ValueError):
        next(it)
    with pytest.raises(ValueError):
        list(windowed([1, 2], 3, incomplete='strict'))


def test_strict_passes_when_the_data_fits():
    assert list(windowed([1, 2, 3, 4, 5], 3, step=2, incomplete='strict')) == [(1, 2, 3), (3, 4, 5)]
    assert list(windowed([], 3, incomplete='strict')) == []


def test_items_equal_to_fillvalue_are_not_mistaken_for_padding():
    data = [None, 1, None, None]
    assert list(windowed(data, 2, step=2, incomplete='strict')) == [(None, 1), (None, None)]
    assert list(windowed(data, 2, fillvalue=None, incomplete='ignore')) == [
        (None, 1), (1, None), (None, None)]


def test_infinite_input_stays_lazy():
    assert list(islice(windowed(count(), 2, step=3, incomplete='strict'), 3)) == [(0, 1), (3, 4), (6, 7)]


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError):
        list(windowed([1, 2, 3], 2, incomplete='pad'))


def test_type_stub_knows_incomplete():
    stub = pathlib.Path(mi.__file__).with_name('more.pyi').read_text()
    defs = [n for n in ast.parse(stub).body if isinstance(n, ast.FunctionDef) and n.name == 'windowed']
    assert defs
    assert any('incomplete' in [a.arg for a in d.args.kwonlyargs] for d in defs)
