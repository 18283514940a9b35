import pytest

from pager.listing import DEFAULT_PER_PAGE, paginate


def test_full_pages():
    items = list(range(DEFAULT_PER_PAGE * 2))
    assert paginate(items, 2) == items[DEFAULT_PER_PAGE:]


def test_bad_per_page():
    with pytest.raises(ValueError):
        paginate([1], 1, per_page=0)
