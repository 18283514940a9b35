import pytest

from pager.util import DEFAULT_PER_PAGE, page_count, paginate

N = 10


def test_default_is_unchanged():
    assert DEFAULT_PER_PAGE == N


@pytest.mark.parametrize("total,pages", [(0, 1), (1, 1), (N, 1), (N + 1, 2), (2 * N + 1, 3), (3 * N, 3)])
def test_page_count_rounds_up(total, pages):
    assert page_count(total) == pages


def test_last_partial_page_is_reachable():
    items = list(range(2 * N + 1))
    assert paginate(items, 3) == [2 * N]
    assert sum((paginate(items, p) for p in range(1, page_count(len(items)) + 1)), []) == items


def test_empty_list_has_one_empty_page():
    assert paginate([], 1) == []
    with pytest.raises(IndexError):
        paginate([], 2)


@pytest.mark.parametrize("page", [0, -1, 4])
def test_out_of_range_pages_raise(page):
    with pytest.raises(IndexError):
        paginate(list(range(2 * N + 1)), page)
