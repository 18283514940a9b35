from xml.dom import minidom

import xmltodict


def fragment(data, **kwargs):
    return xmltodict.unparse(data, full_document=False, short_empty_elements=True, **kwargs)


def test_comment_before_children_stays_inside_the_element():
    assert fragment({"a": {"#comment": "note", "b": "1"}}) == "<a><!--note--><b>1</b></a>"


def test_element_with_only_a_comment_is_not_self_closed():
    assert fragment({"a": {"#comment": "note"}}) == "<a><!--note--></a>"


def test_comment_with_attributes():
    assert fragment({"a": {"@x": "1", "#comment": "note", "b": None}}) == '<a x="1"><!--note--><b/></a>'


def test_nested_and_repeated_comments_are_well_formed():
    data = {"r": {"a": {"#comment": ["one", "two"], "b": {"#comment": "three"}}, "e": None}}
    xml = xmltodict.unparse(data, short_empty_elements=True)
    minidom.parseString(xml)  # raises on malformed XML
    assert xmltodict.parse(xml, process_comments=True) == {
        "r": {"a": {"#comment": ["one", "two"], "b": {"#comment": "three"}}, "e": None}
    }


def test_top_level_comment_and_empty_elements_unchanged():
    xml = xmltodict.unparse({"#comment": "top", "r": {"e": None}}, short_empty_elements=True)
    assert xml.endswith("<!--top--><r><e/></r>")
    assert fragment({"a": None}) == "<a/>"


def test_without_short_empty_elements_unchanged():
    assert xmltodict.unparse({"a": {"#comment": "note"}}, full_document=False) == "<a><!--note--></a>"
