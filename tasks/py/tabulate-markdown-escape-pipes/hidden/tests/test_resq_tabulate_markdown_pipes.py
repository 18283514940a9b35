import re

import pytest

from tabulate import tabulate

UNESCAPED_BAR = re.compile(r"(?<!\\)\|")


def cells_per_line(table):
    return [len(UNESCAPED_BAR.findall(line)) - 1 for line in table.splitlines()]


def test_pipe_escapes_bars_in_cells_and_headers():
    result = tabulate([["a|b", 1], ["c", 22]], headers=["x|y", "n"], tablefmt="pipe")
    assert result.splitlines() == [
        r"| x\|y   |   n |",
        "|:-------|----:|",
        r"| a\|b   |   1 |",
        "| c      |  22 |",
    ]


def test_github_escapes_bars():
    result = tabulate([["a|b", 1], ["c", 22]], headers=["x", "n"], tablefmt="github")
    assert result.splitlines() == [
        "| x    |   n |",
        "|------|-----|",
        r"| a\|b |   1 |",
        "| c    |  22 |",
    ]


@pytest.mark.parametrize("fmt", ["pipe", "github"])
def test_every_line_keeps_the_column_count_and_width(fmt):
    rows = [["grep a|b", "x || y", 3.5], ["|", "", 10]]
    result = tabulate(rows, headers=["command", "expr|ession", "v"], tablefmt=fmt)
    assert set(cells_per_line(result)) == {3}
    assert len({len(line) for line in result.splitlines()}) == 1


def test_already_escaped_bars_are_not_escaped_twice():
    result = tabulate([[r"a\|b", "c|d"]], tablefmt="pipe")
    assert r"a\|b" in result and r"a\\|b" not in result
    assert r"c\|d" in result


def test_headerless_pipe_table():
    assert tabulate([["x|y"]], tablefmt="pipe").splitlines() == ["|:-----|", r"| x\|y |"]


def test_other_formats_keep_bars_as_they_are():
    assert tabulate([["a|b", 1]], headers=["x", "n"], tablefmt="simple").splitlines()[2] == "a|b    1"
    assert r"\|" not in tabulate([["a|b", 1]], headers=["x|y", "n"], tablefmt="grid")
    assert r"\|" not in tabulate([["a|b", 1]], tablefmt="orgtbl")


def test_numbers_are_still_aligned_as_numbers():
    result = tabulate([["a|b", 1.5], ["c", 10]], headers=["k", "v"], tablefmt="pipe")
    assert result.splitlines()[1:] == ["|:-----|-----:|", r"| a\|b |  1.5 |", "| c    | 10   |"]
