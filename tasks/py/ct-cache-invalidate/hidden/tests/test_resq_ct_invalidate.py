import ast
import pathlib
import threading

import pytest

import cachetools
import cachetools.func
import cachetools.keys


class RecordingLock:
    def __init__(self):
        self.lock = threading.RLock()
        self.entered = 0

    def __enter__(self):
        self.entered += 1
        return self.lock.__enter__()

    def __exit__(self, *exc):
        return self.lock.__exit__(*exc)


def counter():
    calls = []

    def func(*args, **kwargs):
        calls.append((args, kwargs))
        return len(calls)

    return func, calls


def test_cached_invalidate_removes_only_that_entry():
    func, calls = counter()
    cache = cachetools.LRUCache(10)
    wrapper = cachetools.cached(cache)(func)
    assert wrapper(1) == 1 and wrapper(2) == 2
    assert wrapper.cache_invalidate(1) is True
    assert cachetools.keys.hashkey(1) not in cache
    assert cachetools.keys.hashkey(2) in cache
    assert wrapper(1) == 3  # recomputed
    assert wrapper(2) == 2  # still cached


def test_invalidate_of_missing_entry_returns_false():
    func, _ = counter()
    wrapper = cachetools.cached({})(func)
    assert wrapper.cache_invalidate("nope") is False


def test_invalidate_uses_the_wrappers_key_function():
    func, _ = counter()
    cache = {}
    wrapper = cachetools.cached(cache, key=cachetools.keys.typedkey)(func)
    wrapper(1)
    wrapper(1.0)
    assert wrapper.cache_invalidate(1.0) is True
    assert list(cache) == [cachetools.keys.typedkey(1)]


def test_invalidate_with_keyword_arguments():
    func, _ = counter()
    cache = {}
    wrapper = cachetools.cached(cache)(func)
    wrapper(1, scale=2)
    assert wrapper.cache_invalidate(1) is False
    assert wrapper.cache_invalidate(1, scale=2) is True
    assert cache == {}


def test_invalidate_takes_the_lock():
    func, _ = counter()
    lock = RecordingLock()
    wrapper = cachetools.cached({}, lock=lock)(func)
    wrapper(5)
    before = lock.entered
    assert wrapper.cache_invalidate(5) is True
    assert lock.entered == before + 1


@pytest.mark.parametrize("with_lock", [False, True])
def test_invalidate_with_condition_and_info(with_lock):
    func, _ = counter()
    cond = threading.Condition()
    kwargs = {"condition": cond, "info": True}
    if with_lock:
        kwargs["lock"] = cond
    wrapper = cachetools.cached(cachetools.LRUCache(4), **kwargs)(func)
    wrapper(1)
    wrapper(1)
    assert wrapper.cache_invalidate(1) is True
    info = wrapper.cache_info()
    assert (info.hits, info.misses, info.currsize) == (1, 1, 0)  # statistics are kept


def test_func_decorators_have_invalidate():
    for decorator in (cachetools.func.lru_cache, cachetools.func.ttl_cache, cachetools.func.fifo_cache):
        func, calls = counter()
        wrapper = decorator(maxsize=8)(func)
        wrapper("a")
        assert wrapper.cache_invalidate("a") is True
        wrapper("a")
        assert len(calls) == 2


def test_cachedmethod_invalidate_is_per_instance():
    class Store:
        def __init__(self):
            self.cache = {}
            self.lock = RecordingLock()
            self.loads = 0

        @cachetools.cachedmethod(lambda self: self.cache, lock=lambda self: self.lock)
        def get(self, key):
            self.loads += 1
            return (key, self.loads)

    a, b = Store(), Store()
    a.get("x"), b.get("x")
    entered = a.lock.entered
    assert a.get.cache_invalidate("x") is True
    assert a.lock.entered == entered + 1
    assert a.cache == {} and len(b.cache) == 1
    assert a.get("x") == ("x", 2)
    assert b.get("x") == ("x", 1)
    assert a.get.cache_invalidate("y") is False


def _stub_methods(path, cls):
    tree = ast.parse(pathlib.Path(cachetools.__file__).with_name(path).read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            return {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
    raise AssertionError(f"{cls} not in {path}")


def test_type_stubs_declare_cache_invalidate():
    assert "cache_invalidate" in _stub_methods("__init__.pyi", "_cached_wrapper")
    assert "cache_invalidate" in _stub_methods("__init__.pyi", "_cachedmethod_wrapper")
    assert "cache_invalidate" in _stub_methods("func.pyi", "_cachetools_cache_wrapper")
