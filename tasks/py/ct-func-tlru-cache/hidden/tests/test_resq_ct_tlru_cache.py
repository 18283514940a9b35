import ast
import pathlib

import pytest

import cachetools
import cachetools.func


class Timer:
    def __init__(self):
        self.time = 0

    def __call__(self):
        return self.time


def make(maxsize=2, typed=False):
    timer = Timer()
    calls = []

    def ttu(key, value, now):
        # results of even inputs live 10 time units, odd ones 1
        (n,) = key[:1]
        return now + (10 if n % 2 == 0 else 1)

    @cachetools.func.tlru_cache(maxsize=maxsize, ttu=ttu, timer=timer, typed=typed)
    def square(n):
        calls.append(n)
        return n * n

    return square, timer, calls


def test_exported():
    assert "tlru_cache" in cachetools.func.__all__


def test_memoizes_until_the_per_item_expiry():
    square, timer, calls = make()
    assert square(2) == 4 and square(3) == 9
    assert square(2) == 4 and square(3) == 9
    assert calls == [2, 3]
    timer.time = 5  # 3 expired at 1, 2 lives until 10
    assert square(3) == 9 and square(2) == 4
    assert calls == [2, 3, 3]
    timer.time = 10
    square(2)
    assert calls == [2, 3, 3, 2]


def test_lru_eviction_at_maxsize():
    square, timer, calls = make(maxsize=2)
    square(2), square(4), square(2), square(6)  # 4 is least recently used
    square(2)
    square(4)
    assert calls == [2, 4, 6, 4]


def test_cache_info_and_parameters():
    square, timer, calls = make(maxsize=2)
    square(2), square(2), square(4)
    info = square.cache_info()
    assert (info.hits, info.misses, info.maxsize, info.currsize) == (1, 2, 2, 2)
    assert square.cache_parameters() == {"maxsize": 2, "typed": False}
    assert isinstance(square.cache, cachetools.TLRUCache)
    square.cache_clear()
    assert square.cache_info().currsize == 0


def test_unbounded_cache_still_expires():
    square, timer, calls = make(maxsize=None)
    for n in range(0, 400, 2):
        square(n)
    info = square.cache_info()
    assert info.maxsize is None and info.currsize == 200
    timer.time = 100
    square(0)
    assert square.cache_info().currsize == 1
    assert square.cache_parameters()["maxsize"] is None


def test_typed():
    square, timer, calls = make(typed=True)
    square(2), square(2.0)
    assert calls == [2, 2.0]
    assert square.cache_parameters()["typed"] is True


def test_requires_ttu():
    with pytest.raises(TypeError):
        cachetools.func.tlru_cache(maxsize=10)
    with pytest.raises(TypeError):

        @cachetools.func.tlru_cache
        def f(x):
            return x


def test_type_stub_declares_tlru_cache():
    stub = pathlib.Path(cachetools.func.__file__).with_name("func.pyi").read_text()
    names = {n.name for n in ast.parse(stub).body if isinstance(n, ast.FunctionDef)}
    assert "tlru_cache" in names
    assert '"tlru_cache"' in stub
