import ast
import pathlib

import pytest

import cachetools


class Timer:
    def __init__(self):
        self.time = 0

    def __call__(self):
        return self.time


def recorder():
    seen = []
    return seen, lambda key, value: seen.append((key, value))


def test_lru_reports_the_evicted_item():
    seen, on_evict = recorder()
    cache = cachetools.LRUCache(2, on_evict=on_evict)
    cache["a"], cache["b"] = 1, 2
    cache["a"]
    cache["c"] = 3
    assert seen == [("b", 2)]
    assert cache.on_evict is on_evict


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (cachetools.FIFOCache, [("a", 1)]),
        (cachetools.LRUCache, [("b", 2)]),
        (cachetools.LFUCache, [("b", 2)]),
    ],
)
def test_each_policy_reports_what_it_evicts(cls, expected):
    seen, on_evict = recorder()
    cache = cls(2, on_evict=on_evict)
    cache["a"], cache["b"] = 1, 2
    cache["a"]
    cache["c"] = 3
    assert seen == expected
    assert seen[0][0] not in cache


def test_rr_cache_with_choice_and_on_evict():
    seen, on_evict = recorder()
    cache = cachetools.RRCache(1, choice=min, on_evict=on_evict)
    cache[2] = "two"
    cache[1] = "one"
    assert seen == [(2, "two")]


def test_getsizeof_can_evict_several_items():
    seen, on_evict = recorder()
    cache = cachetools.LRUCache(5, getsizeof=len, on_evict=on_evict)
    cache["a"], cache["b"] = "xx", "yy"
    cache["c"] = "zzzz"
    assert seen == [("a", "xx"), ("b", "yy")]


def test_explicit_removals_are_not_reported():
    seen, on_evict = recorder()
    cache = cachetools.LRUCache(3, on_evict=on_evict)
    cache.update(a=1, b=2, c=3)
    del cache["a"]
    cache.pop("b")
    cache.popitem()
    cache["d"] = 4
    cache.clear()
    cache["a"] = 1  # replacing a value is not an eviction either
    cache["a"] = 2
    assert seen == []


def test_ttl_cache_reports_expired_and_evicted_items():
    seen, on_evict = recorder()
    timer = Timer()
    cache = cachetools.TTLCache(2, ttl=10, timer=timer, on_evict=on_evict)
    cache["a"] = 1
    timer.time = 5
    cache["b"] = 2
    timer.time = 12  # "a" has expired
    cache["c"] = 3
    assert seen == [("a", 1)]
    cache["d"] = 4  # full: "b" is least recently used
    assert seen == [("a", 1), ("b", 2)]
    timer.time = 100
    assert len(cache) == 0
    assert sorted(seen[2:]) == [("c", 3), ("d", 4)]


def test_tlru_cache_reports_expired_items():
    seen, on_evict = recorder()
    timer = Timer()
    cache = cachetools.TLRUCache(10, ttu=lambda k, v, now: now + v, timer=timer, on_evict=on_evict)
    cache["short"] = 1
    cache["long"] = 50
    timer.time = 5
    assert cache.expire() == [("short", 1)]
    assert seen == [("short", 1)]


def test_default_is_none_and_must_be_callable():
    assert cachetools.Cache(1).on_evict is None
    assert cachetools.TTLCache(1, ttl=1).on_evict is None
    with pytest.raises(TypeError):
        cachetools.LRUCache(1, on_evict="print")


def test_on_evict_is_keyword_only():
    with pytest.raises(TypeError):
        cachetools.LRUCache(1, None, print)


def test_type_stub_declares_on_evict():
    stub = pathlib.Path(cachetools.__file__).with_name("__init__.pyi").read_text()
    tree = ast.parse(stub)
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    init = next(n for n in classes["Cache"].body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    assert "on_evict" in [a.arg for a in init.args.kwonlyargs]
    for name in ("RRCache", "TTLCache", "TLRUCache"):
        inits = [n for n in classes[name].body if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
        assert inits and all("on_evict" in [a.arg for a in i.args.kwonlyargs] for i in inits), name
