import ast
import inspect
import pathlib
from itertools import count

import pytest

import more_itertools as mi
from more_itertools import split_into


def test_exact_sizes_pass_in_strict_mode():
    assert list(split_into([1, 2, 3, 4, 5, 6], [1, 2, 3], strict=True)) == [[1], [2, 3], [4, 5, 6]]
    assert list(split_into(iter('abcd'), (n for n in [2, 2]), strict=True)) == [['a', 'b'], ['c', 'd']]
    assert list(split_into([], [], strict=True)) == []
    assert list(split_into([1, 2], [2, 0], strict=True)) == [[1, 2], []]


def test_none_takes_the_rest_and_is_never_short():
    assert list(split_into([1, 2, 3, 4], [1, None], strict=True)) == [[1], [2, 3, 4]]
    assert list(split_into([1], [1, None], strict=True)) == [[1], []]


def test_leftover_items_raise_after_the_last_group():
    it = split_into([1, 2, 3, 4, 5], [2, 2], strict=True)
    assert next(it) == [1, 2]
    assert next(it) == [3, 4]
    with pytest.raises(ValueError):
        next(it)


def test_short_group_raises_instead_of_being_yielded():
    it = split_into([1, 2, 3], [2, 2, 1], strict=True)
    assert next(it) == [1, 2]
    with pytest.raises(ValueError):
        next(it)


def test_too_few_items_for_later_sizes():
    with pytest.raises(ValueError):
        list(split_into([1, 2], [2, 1], strict=True))


def test_strict_does_not_overconsume_an_infinite_iterator_for_sizes_with_none():
    source = count()
    assert list(split_into(source, [2, 3], strict=False)) == [[0, 1], [2, 3, 4]]
    assert next(source) == 5


def test_default_is_lenient_as_before():
    assert list(split_into([1, 2, 3, 4], [1, 2, 3, 4])) == [[1], [2, 3], [4], []]
    assert list(split_into([1, 2, 3, 4, 5, 6], [2, 3])) == [[1, 2], [3, 4, 5]]


def test_strict_is_keyword_only():
    param = inspect.signature(mi.split_into).parameters['strict']
    assert param.kind is inspect.Parameter.KEYWORD_ONLY
    assert param.default is False


def test_type_stub_has_strict():
    stub = pathlib.Path(mi.__file__).with_name('more.pyi').read_text()
    for node in ast.parse(stub).body:
        if isinstance(node, ast.FunctionDef) and node.name == 'split_into':
            assert [a.arg for a in node.args.kwonlyargs] == ['strict']
            return
    raise AssertionError('split_into not in more.pyi')
