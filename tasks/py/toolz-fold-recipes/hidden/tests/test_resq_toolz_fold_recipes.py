import pickle

import toolz
import toolz.curried
import toolz.itertoolz
import toolz.recipes


def test_functions_live_in_itertoolz():
    assert toolz.itertoolz.countby.__module__ == "toolz.itertoolz"
    assert toolz.itertoolz.partitionby.__module__ == "toolz.itertoolz"
    assert {"countby", "partitionby"} <= set(toolz.itertoolz.__all__)


def test_recipes_module_still_exports_the_same_objects():
    assert toolz.recipes.countby is toolz.itertoolz.countby
    assert toolz.recipes.partitionby is toolz.itertoolz.partitionby
    assert set(toolz.recipes.__all__) == {"countby", "partitionby"}
    from toolz.recipes import countby, partitionby  # noqa: F401


def test_top_level_names_are_the_itertoolz_ones():
    assert toolz.countby is toolz.itertoolz.countby
    assert toolz.partitionby is toolz.itertoolz.partitionby


def test_tlz_itertoolz_has_them():
    import tlz.itertoolz

    assert tlz.itertoolz.countby(len, ["ab", "c", "de"]) == {2: 2, 1: 1}


def test_behaviour_is_unchanged():
    assert toolz.countby(len, ["cat", "mouse", "dog"]) == {3: 2, 5: 1}
    assert toolz.countby(0, ["ab", "ac", "bc"]) == {"a": 2, "b": 1}
    assert list(toolz.partitionby(lambda x: x > 10, [1, 2, 99, 88, 3])) == [(1, 2), (99, 88), (3,)]
    assert toolz.curried.countby(len)(["a", "bb", "cc"]) == {1: 1, 2: 2}
    assert list(toolz.curried.partitionby(bool)([0, 1, 1, 0])) == [(0,), (1, 1), (0,)]


def test_pickling_by_reference_still_works():
    assert pickle.loads(pickle.dumps(toolz.countby)) is toolz.countby
    assert pickle.loads(pickle.dumps(toolz.curried.partitionby))(bool)([1, 0]) is not None
