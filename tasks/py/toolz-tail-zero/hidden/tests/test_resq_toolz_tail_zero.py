from toolz import tail
from toolz.curried import tail as curried_tail


def test_tail_zero_of_a_list_is_empty():
    assert tail(0, [10, 20, 30]) == []


def test_tail_zero_keeps_the_sequence_type():
    assert tail(0, (1, 2, 3)) == ()
    assert tail(0, "abc") == ""
    assert tail(0, range(5)) == range(0)


def test_curried_tail_zero():
    assert curried_tail(0)([1, 2]) == []


def test_tail_zero_of_an_iterator_is_empty():
    assert tuple(tail(0, iter([1, 2, 3]))) == ()


def test_tail_of_more_than_available():
    assert tail(2, [10, 20, 30]) == [20, 30]
    assert tail(5, (1, 2)) == (1, 2)
    assert tail(2, "abcd") == "cd"
    assert tuple(tail(2, iter([1, 2, 3]))) == (2, 3)
