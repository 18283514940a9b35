import pytest

import xmltodict


def fragment(data, **kwargs):
    return xmltodict.unparse(data, full_document=False, **kwargs)


def test_all_text_as_cdata():
    assert fragment({"a": {"b": "x < y & z", "c": "plain"}}, cdata_sections=True) == (
        "<a><b><![CDATA[x < y & z]]></b><c><![CDATA[plain]]></c></a>"
    )


def test_only_named_elements():
    data = {"page": {"title": "A & B", "script": "if (a < b) go();"}}
    assert fragment(data, cdata_sections=("script",)) == (
        "<page><title>A &amp; B</title><script><![CDATA[if (a < b) go();]]></script></page>"
    )


def test_callable_decides_per_element():
    data = {"r": {"a": "1 < 2", "b": "safe", "c": ["x", "<y>"]}}
    result = fragment(data, cdata_sections=lambda key, text: "<" in text)
    assert result == "<r><a><![CDATA[1 < 2]]></a><b>safe</b><c>x</c><c><![CDATA[<y>]]></c></r>"


def test_terminator_inside_text_is_split_and_round_trips():
    text = "a]]>b ]]> c"
    xml = fragment({"a": text}, cdata_sections=True)
    assert xml.count("<![CDATA[") == 3
    assert xmltodict.parse(xml) == {"a": text}


def test_text_next_to_attributes_and_children():
    data = {"a": {"@k": "v<", "b": "1", "#text": "t&"}}
    assert fragment(data, cdata_sections=True) == '<a k="v&lt;"><b><![CDATA[1]]></b><![CDATA[t&]]></a>'


def test_non_string_values_and_empty_elements():
    assert fragment({"r": {"n": 5, "f": True, "e": None, "s": ""}}, cdata_sections=True) == (
        "<r><n><![CDATA[5]]></n><f><![CDATA[true]]></f><e></e><s></s></r>"
    )


def test_with_short_empty_elements():
    assert fragment({"r": {"a": "<x>", "e": None}}, cdata_sections=True, short_empty_elements=True) == (
        "<r><a><![CDATA[<x>]]></a><e/></r>"
    )


def test_pretty_printing_and_full_document_round_trip():
    data = {"doc": {"item": [{"@id": "1", "#text": "a < b"}, {"@id": "2", "#text": "c"}]}}
    xml = xmltodict.unparse(data, cdata_sections=True, pretty=True)
    assert "\t<item id=\"1\"><![CDATA[a < b]]></item>\n" in xml
    assert xmltodict.parse(xml) == data


@pytest.mark.parametrize("value", [False, None, ()])
def test_off_by_default_and_when_falsy(value):
    data = {"a": {"b": "x < y"}}
    assert fragment(data) == "<a><b>x &lt; y</b></a>"
    assert fragment(data, cdata_sections=value) == "<a><b>x &lt; y</b></a>"
