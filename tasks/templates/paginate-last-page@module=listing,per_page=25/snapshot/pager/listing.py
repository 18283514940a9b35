"""Pages of a list, numbered from 1."""

DEFAULT_PER_PAGE = 25


def page_count(total: int, per_page: int = DEFAULT_PER_PAGE) -> int:
    if per_page <= 0:
        raise ValueError("per_page must be positive")
    return total // per_page


def paginate(items: list, page: int, per_page: int = DEFAULT_PER_PAGE) -> list:
    if not 1 <= page <= page_count(len(items), per_page):
        raise IndexError(f"no page {page}")
    start = (page - 1) * per_page
    return items[start:start + per_page]
