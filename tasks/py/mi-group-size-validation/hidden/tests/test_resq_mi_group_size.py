import pytest

import more_itertools as mi


class Exploding:
    """An iterable that must not be touched when the size is invalid."""

    def __iter__(self):
        raise AssertionError('iterated before the size was checked')


@pytest.mark.parametrize('n', [0, -1, -5])
def test_chunked_even_rejects_sizes_below_one_at_call_time(n):
    with pytest.raises(ValueError, match='n must be at least 1'):
        mi.chunked_even(Exploding(), n)


@pytest.mark.parametrize('n', [0, -1])
@pytest.mark.parametrize('incomplete', ['fill', 'strict', 'ignore'])
def test_grouper_rejects_sizes_below_one(n, incomplete):
    with pytest.raises(ValueError, match='n must be at least 1'):
        mi.grouper('ABC', n, incomplete=incomplete)


def test_grouper_rejects_zero_even_for_empty_input():
    with pytest.raises(ValueError):
        list(mi.grouper([], 0))


def test_valid_sizes_unchanged():
    assert list(mi.chunked_even('ABCDEFG', 3)) == [['A', 'B', 'C'], ['D', 'E'], ['F', 'G']]
    assert list(mi.chunked_even(iter('ABCD'), 1)) == [['A'], ['B'], ['C'], ['D']]
    assert list(mi.chunked_even([], 4)) == []
    assert list(mi.grouper('ABCDEFG', 3, fillvalue='x')) == [('A', 'B', 'C'), ('D', 'E', 'F'), ('G', 'x', 'x')]
    assert list(mi.grouper('AB', 1, incomplete='strict')) == [('A',), ('B',)]


def test_chunked_even_is_still_lazy_for_valid_sizes():
    consumed = []

    def source():
        for i in range(100):
            consumed.append(i)
            yield i

    it = mi.chunked_even(source(), 2)
    assert consumed == []
    assert next(it) == [0, 1]
    assert len(consumed) < 10


def test_bad_incomplete_still_reported():
    with pytest.raises(ValueError):
        mi.grouper('ABC', 2, incomplete='pad')
