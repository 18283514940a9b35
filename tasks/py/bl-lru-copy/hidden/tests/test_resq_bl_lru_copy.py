import copy

import pytest

from boltons.cacheutils import LRI, LRU


def _used_a_last():
    cache = LRU(max_size=2)
    cache['a'] = 1
    cache['b'] = 2
    cache['a']  # 'a' is now the most recently used, 'b' goes next
    return cache


def test_copy_keeps_eviction_order():
    cache = _used_a_last()
    clone = cache.copy()
    clone['c'] = 3
    assert sorted(clone) == ['a', 'c']


def test_copy_does_not_touch_the_source():
    cache = _used_a_last()
    hits, misses, soft = cache.hit_count, cache.miss_count, cache.soft_miss_count
    cache.copy()
    assert (cache.hit_count, cache.miss_count, cache.soft_miss_count) == (hits, misses, soft)
    cache['c'] = 3  # the source's own order is unchanged by the copy
    assert sorted(cache) == ['a', 'c']


def test_copy_statistics_start_at_zero():
    clone = _used_a_last().copy()
    assert (clone.hit_count, clone.miss_count, clone.soft_miss_count) == (0, 0, 0)


@pytest.mark.parametrize('cls', [LRI, LRU])
def test_copy_keeps_on_miss_and_max_size(cls):
    cache = cls(max_size=3, on_miss=lambda key: key.upper())
    cache['x'] = 'X'
    clone = cache.copy()
    assert type(clone) is cls
    assert clone.max_size == 3
    assert clone['q'] == 'Q'


@pytest.mark.parametrize('cls', [LRI, LRU])
def test_copy_module_gives_an_independent_cache(cls):
    cache = cls(max_size=3)
    cache.update({'a': 1, 'b': 2})
    clone = copy.copy(cache)
    assert clone == cache and type(clone) is cls
    clone['c'] = 3
    clone['d'] = 4  # evicts from the clone only
    del clone['c']
    assert dict(cache) == {'a': 1, 'b': 2}
    cache['e'] = 5
    assert 'e' not in clone
    # the source's linked list still works after the clone was changed
    cache['f'] = 6
    cache['g'] = 7
    assert len(cache) == 3


def test_lri_copy_keeps_insertion_eviction_order():
    cache = LRI(max_size=2)
    cache['a'] = 1
    cache['b'] = 2
    cache['a'] = 10  # re-setting counts as a fresh insert for LRI
    clone = cache.copy()
    clone['c'] = 3
    assert dict(clone) == {'a': 10, 'c': 3}


def test_copy_keeps_iteration_order_and_values():
    cache = LRU(max_size=5)
    for key in 'edcba':
        cache[key] = key * 2
    cache['c']
    clone = cache.copy()
    assert list(clone) == list(cache)
    assert dict(clone) == dict(cache)
