import ast
from pathlib import Path

import parse


def result():
    return parse.parse("{} bought {count:d} {item} for {:f}", "ann bought 3 apples for 1.5")


def test_get_named_fields():
    r = result()
    assert r.get("count") == 3
    assert r.get("item") == "apples"


def test_get_fixed_fields_by_index():
    r = result()
    assert r.get(0) == "ann"
    assert r.get(1) == 1.5
    assert r.get(-1) == 1.5


def test_missing_keys_give_the_default():
    r = result()
    assert r.get("colour") is None
    assert r.get("colour", "red") == "red"
    assert r.get(7) is None
    assert r.get(7, 0) == 0


def test_a_none_value_is_returned_not_replaced():
    r = parse.Result((None,), {"x": None}, {})
    assert r.get("x", "default") is None
    assert r.get(0, "default") is None


def test_nested_names_are_looked_up_by_their_top_level_key():
    r = parse.parse("{quest[name]} by {quest[when]}", "grail by Tuesday")
    assert r.get("quest") == {"name": "grail", "when": "Tuesday"}


def test_stub_declares_get():
    stub = Path(parse.__file__).with_suffix(".pyi")
    tree = ast.parse(stub.read_text())
    result_class = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Result")
    methods = {node.name: node for node in result_class.body if isinstance(node, ast.FunctionDef)}
    assert "get" in methods
    params = [a.arg for a in methods["get"].args.args]
    assert params[0] == "self" and len(params) == 3


def test_item_access_is_unchanged():
    r = result()
    assert r["count"] == 3 and r[0] == "ann" and r[0:1] == ("ann",)
    assert "count" in r and "colour" not in r
