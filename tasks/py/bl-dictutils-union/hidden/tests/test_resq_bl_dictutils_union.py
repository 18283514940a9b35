import pytest

from boltons.dictutils import OMD, FrozenDict, OneToOne
from boltons.urlutils import QueryParamDict


def assert_consistent(oto):
    assert dict(oto.inv) == {v: k for k, v in oto.items()}
    assert len(oto) == len(oto.inv)


def test_onetoone_update_from_a_generator_keeps_every_pair():
    oto = OneToOne()
    oto.update((k, v) for k, v in [('a', 1), ('b', 2), ('c', 3)])
    assert dict(oto) == {'a': 1, 'b': 2, 'c': 3}
    assert_consistent(oto)


def test_onetoone_update_from_a_list_and_keywords():
    oto = OneToOne({'a': 1})
    oto.update([('b', 2)], c=3)
    assert dict(oto) == {'a': 1, 'b': 2, 'c': 3}
    assert_consistent(oto)


def test_onetoone_update_checks_hashability_before_changing_anything():
    oto = OneToOne({'a': 1})
    with pytest.raises(TypeError):
        oto.update(iter([('b', 2), ('c', [])]))
    assert dict(oto) == {'a': 1}
    assert_consistent(oto)


def test_onetoone_inplace_union_keeps_the_inverse_in_sync():
    oto = OneToOne({'a': 1, 'b': 2})
    oto |= {'c': 1}  # value 1 moves from 'a' to 'c', like oto['c'] = 1
    assert dict(oto) == {'b': 2, 'c': 1}
    assert_consistent(oto)


def test_onetoone_union_returns_a_new_onetoone():
    left = OneToOne({'a': 1})
    result = left | {'b': 2}
    assert type(result) is OneToOne
    assert dict(result) == {'a': 1, 'b': 2}
    assert_consistent(result)
    assert dict(left) == {'a': 1}
    assert_consistent(left)


def test_omd_union_keeps_multiple_values_and_type():
    left = OMD([('a', 1), ('a', 2), ('b', 3)])
    result = left | {'b': 9, 'c': 4}
    assert type(result) is OMD
    assert result.getlist('a') == [1, 2]
    assert result.getlist('b') == [9]
    assert result['c'] == 4
    assert left.getlist('b') == [3]


def test_omd_union_equals_copy_then_inplace_union():
    left = OMD([('a', 1), ('a', 2), ('b', 3)])
    right = OMD([('b', 5), ('b', 6), ('d', 7)])
    expected = left.copy()
    expected |= right
    result = left | right
    assert list(result.items(multi=True)) == list(expected.items(multi=True))


def test_query_param_dict_union_stays_a_query_param_dict():
    params = QueryParamDict([('tag', 'a'), ('tag', 'b')])
    result = params | {'page': '2'}
    assert type(result) is QueryParamDict
    assert result.to_text() == 'tag=a&tag=b&page=2'


def test_frozendict_union_stays_frozen_and_hashable():
    frozen = FrozenDict(a=1)
    result = frozen | {'b': 2}
    assert type(result) is FrozenDict
    assert result == {'a': 1, 'b': 2}
    assert hash(result) == hash(FrozenDict(a=1, b=2))
    assert frozen == {'a': 1}
    with pytest.raises(TypeError):
        frozen |= {'c': 3}


def test_union_with_a_non_mapping_is_a_type_error():
    for left in (OMD(a=1), OneToOne(a=1), FrozenDict(a=1)):
        with pytest.raises(TypeError):
            left | [('b', 2)]


def test_plain_dict_on_the_left_still_gives_a_dict():
    assert type({'x': 1} | OMD(a=1)) is dict
    assert type({'x': 1} | FrozenDict(a=1)) is dict
