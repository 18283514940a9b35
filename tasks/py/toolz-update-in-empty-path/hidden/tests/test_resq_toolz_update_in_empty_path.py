import copy

import toolz
import toolz.curried


def test_update_in_with_an_empty_path_updates_the_whole_value():
    d = {"a": 1, "b": {"c": 2}}
    before = copy.deepcopy(d)
    assert toolz.update_in(d, [], lambda m: toolz.assoc(m, "z", 0)) == {"a": 1, "b": {"c": 2}, "z": 0}
    assert d == before


def test_default_does_not_matter_for_an_empty_path():
    assert toolz.update_in({"a": 1}, (), len, default="unused") == 1


def test_assoc_in_with_an_empty_path_replaces_the_whole_value():
    assert toolz.assoc_in({"a": 1}, [], {"new": True}) == {"new": True}


def test_empty_iterator_path():
    assert toolz.update_in({"a": 1}, iter([]), len) == 1


def test_inside_a_generator_no_runtime_error():
    def updated(dicts):
        for d in dicts:
            yield toolz.update_in(d, [], len)

    assert list(updated([{"a": 1}, {}])) == [1, 0]


def test_curried_versions():
    assert toolz.curried.update_in(keys=[], func=len)({"a": 1, "b": 2}) == 2
    assert toolz.curried.assoc_in({"a": 1})([], 7) == 7


def test_get_in_still_returns_the_whole_value():
    d = {"a": 1}
    assert toolz.get_in([], d) is d


def test_non_empty_paths_unchanged():
    assert toolz.update_in({"a": {"b": 1}}, ["a", "b"], lambda x: x + 1) == {"a": {"b": 2}}
    assert toolz.assoc_in({}, ["x", "y"], 3) == {"x": {"y": 3}}
