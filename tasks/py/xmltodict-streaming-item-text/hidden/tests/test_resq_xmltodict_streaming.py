import xmltodict

DOC = """<a>
  <b x="1">text</b>
  <b>  padded  </b>
  <b><c>1</c>tail</b>
  <b/>
  <b y="2"/>
  <b z="3">
     spaced out
  </b>
</a>"""


def streamed(doc, **kwargs):
    items = []

    def collect(path, item):
        items.append(item)
        return True

    assert xmltodict.parse(doc, item_depth=2, item_callback=collect, **kwargs) is None
    return items


def test_text_of_an_element_with_attributes_is_kept():
    assert streamed('<a><b x="1">text</b></a>') == [{"@x": "1", "#text": "text"}]


def test_text_after_children_is_kept():
    assert streamed("<a><b><c>1</c>tail</b></a>") == [{"c": "1", "#text": "tail"}]


def test_whitespace_is_stripped_like_in_a_full_parse():
    assert streamed("<a><b>  padded  </b></a>") == ["padded"]
    assert streamed("<a><b>   </b></a>") == [None]


def test_streamed_items_match_a_full_parse():
    assert streamed(DOC) == xmltodict.parse(DOC)["a"]["b"]


def test_streamed_items_match_with_options():
    for options in ({"strip_whitespace": False}, {"force_cdata": True}, {"cdata_key": "$text"},
                    {"attr_prefix": "_", "force_cdata": ("b",)}):
        assert streamed(DOC, **options) == xmltodict.parse(DOC, **options)["a"]["b"], options


def test_root_item_at_depth_one():
    items = []
    xmltodict.parse('<a x="1"> hi </a>', item_depth=1, item_callback=lambda path, item: items.append(item) or True)
    assert items == [{"@x": "1", "#text": "hi"}]


def test_plain_text_items_are_unchanged():
    assert streamed("<a><b>1</b><b>2</b></a>") == ["1", "2"]
