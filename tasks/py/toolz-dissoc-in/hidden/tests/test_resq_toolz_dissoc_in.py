import copy
from collections import OrderedDict

import toolz
import toolz.dicttoolz
import toolz.curried


def nested():
    return {"a": {"b": 1, "c": {"d": 2, "e": 3}}, "x": 0}


def test_removes_a_nested_key():
    assert toolz.dissoc_in(nested(), ["a", "b"]) == {"a": {"c": {"d": 2, "e": 3}}, "x": 0}
    assert toolz.dicttoolz.dissoc_in(nested(), ("a", "c", "d")) == {"a": {"b": 1, "c": {"e": 3}}, "x": 0}
    assert "dissoc_in" in toolz.dicttoolz.__all__


def test_does_not_mutate_the_input():
    d = nested()
    before = copy.deepcopy(d)
    inner = d["a"]["c"]
    result = toolz.dissoc_in(d, ["a", "c", "e"])
    assert d == before
    assert inner == {"d": 2, "e": 3}
    assert result is not d
    assert result["a"] is not d["a"]


def test_missing_path_returns_an_unchanged_copy():
    d = nested()
    for path in (["nope"], ["a", "nope"], ["a", "c", "nope"], ["nope", "deeper", "still"]):
        result = toolz.dissoc_in(d, path)
        assert result == nested()
        assert result is not d
    assert d == nested()


def test_empty_path_returns_a_copy():
    d = nested()
    result = toolz.dissoc_in(d, [])
    assert result == nested()
    assert result is not d


def test_single_key_behaves_like_dissoc():
    d = nested()
    assert toolz.dissoc_in(d, ["x"]) == toolz.dissoc(d, "x")
    assert toolz.dissoc_in(d, ["a"]) == {"x": 0}


def test_emptied_dictionaries_are_kept():
    assert toolz.dissoc_in({"a": {"b": 1}}, ["a", "b"]) == {"a": {}}


def test_factory_is_used_on_every_level():
    d = {"a": {"b": 1, "c": 2}, "x": 0}
    result = toolz.dissoc_in(d, ["a", "b"], factory=OrderedDict)
    assert isinstance(result, OrderedDict)
    assert isinstance(result["a"], OrderedDict)
    assert result == {"a": {"c": 2}, "x": 0}


def test_curried_and_tlz():
    import tlz

    without = toolz.curried.dissoc_in({"a": {"b": 1, "c": 2}})
    assert without(["a", "b"]) == {"a": {"c": 2}}
    assert without(["a", "c"]) == {"a": {"b": 1}}
    assert tlz.dissoc_in({"a": {"b": 1}}, ["a", "b"]) == {"a": {}}
