from html.parser import HTMLParser

import pytest

from tabulate import SEPARATING_LINE, tabulate

ROWS = [["spam", 41], SEPARATING_LINE, ["eggs", 451], ["ham", 7]]


class TagRecorder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.events = []
        self.cells = []

    def handle_starttag(self, tag, attrs):
        self.events.append(("start", tag))

    def handle_endtag(self, tag):
        self.events.append(("end", tag))

    def handle_data(self, data):
        if data.strip():
            self.cells.append(data.strip())


def parse(html):
    recorder = TagRecorder()
    recorder.feed(html)
    return recorder


def assert_well_formed(events):
    stack = []
    for kind, tag in events:
        if kind == "start":
            stack.append(tag)
        else:
            assert stack and stack[-1] == tag, f"</{tag}> closes {stack[-1] if stack else 'nothing'}: {events}"
            stack.pop()
    assert not stack


@pytest.mark.parametrize("fmt", ["html", "unsafehtml"])
@pytest.mark.parametrize("headers", [["name", "qty"], ()])
def test_html_with_a_separating_line_is_one_well_formed_table(fmt, headers):
    html = str(tabulate(ROWS, headers=headers, tablefmt=fmt))
    recorder = parse(html)
    assert_well_formed(recorder.events)
    assert recorder.events.count(("start", "table")) == 1
    assert html.rstrip().endswith("</table>")
    assert recorder.cells == [*headers, "spam", "41", "eggs", "451", "ham", "7"]


@pytest.mark.parametrize("fmt", ["html", "unsafehtml"])
def test_html_separating_line_starts_a_new_row_group(fmt):
    html = str(tabulate(ROWS, headers=["name", "qty"], tablefmt=fmt))
    tags = [event for event in parse(html).events if event[1] in ("tbody", "tr")]
    assert tags == [
        ("start", "tr"), ("end", "tr"),  # header row, inside <thead>
        ("start", "tbody"), ("start", "tr"), ("end", "tr"), ("end", "tbody"),
        ("start", "tbody"), ("start", "tr"), ("end", "tr"), ("start", "tr"), ("end", "tr"), ("end", "tbody"),
    ]


def test_html_without_separating_lines_is_unchanged():
    expected = "\n".join([
        "<table>",
        "<thead>",
        '<tr><th>name  </th><th style="text-align: right;">  qty</th></tr>',
        "</thead>",
        "<tbody>",
        '<tr><td>spam  </td><td style="text-align: right;">   41</td></tr>',
        '<tr><td>eggs  </td><td style="text-align: right;">  451</td></tr>',
        "</tbody>",
        "</table>",
    ])
    assert str(tabulate([["spam", 41], ["eggs", 451]], headers=["name", "qty"], tablefmt="html")) == expected


def test_other_formats_keep_their_separating_lines():
    assert tabulate(ROWS, headers=["name", "qty"], tablefmt="simple").splitlines() == [
        "name      qty",
        "------  -----",
        "spam       41",
        "------  -----",
        "eggs      451",
        "ham         7",
    ]
    assert tabulate(ROWS, headers=["name", "qty"], tablefmt="orgtbl").splitlines()[3] == "|--------+-------|"
    assert tabulate(ROWS, headers=["name", "qty"], tablefmt="pipe").splitlines()[3] == "|:-------|------:|"
