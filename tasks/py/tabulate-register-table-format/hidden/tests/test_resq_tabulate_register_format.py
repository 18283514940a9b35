import pytest

import tabulate as tabulate_module
from tabulate import TableFormat, simple_separated_format, tabulate

ROWS = [["spam", 41.9999], ["eggs", 451]]


def test_registered_format_is_usable_by_name():
    fmt = simple_separated_format(";")
    tabulate_module.register_table_format("resq_semicolon", fmt)
    assert tabulate(ROWS, headers=["a", "b"], tablefmt="resq_semicolon") == tabulate(
        ROWS, headers=["a", "b"], tablefmt=fmt)
    assert tabulate(ROWS, tablefmt="resq_semicolon").splitlines()[0] == "spam; 41.9999"


def test_it_is_exported():
    assert "register_table_format" in tabulate_module.__all__
    from tabulate import register_table_format  # noqa: F401


def test_tabulate_formats_is_updated_in_place_and_stays_sorted():
    formats = tabulate_module.tabulate_formats
    tabulate_module.register_table_format("resq_aaa_first", simple_separated_format("|"))
    assert tabulate_module.tabulate_formats is formats
    assert "resq_aaa_first" in formats
    assert formats == sorted(formats)
    assert all(isinstance(name, str) for name in formats)


def test_existing_names_are_refused_and_left_alone():
    grid_before = tabulate(ROWS, tablefmt="grid")
    with pytest.raises(ValueError):
        tabulate_module.register_table_format("grid", simple_separated_format(","))
    assert tabulate(ROWS, tablefmt="grid") == grid_before
    tabulate_module.register_table_format("resq_once", simple_separated_format(","))
    with pytest.raises(ValueError):
        tabulate_module.register_table_format("resq_once", simple_separated_format(";"))
    assert tabulate(ROWS, tablefmt="resq_once").splitlines()[0] == "spam, 41.9999"


def test_bad_arguments():
    with pytest.raises(TypeError):
        tabulate_module.register_table_format("resq_not_a_format", {"lineabove": None})
    with pytest.raises(ValueError):
        tabulate_module.register_table_format("", simple_separated_format(","))
    assert "resq_not_a_format" not in tabulate_module.tabulate_formats


def test_multiline_formats():
    grid = tabulate_module._table_formats["grid"]
    rows = [["two\nlines", 1]]
    tabulate_module.register_table_format("resq_grid_multiline", grid, multiline=True)
    assert tabulate(rows, tablefmt="resq_grid_multiline") == tabulate(rows, tablefmt="grid")
    tabulate_module.register_table_format("resq_grid_single", grid)
    assert tabulate(rows, tablefmt="resq_grid_single") != tabulate(rows, tablefmt="grid")


def test_unknown_names_still_fall_back_to_simple():
    assert tabulate(ROWS, tablefmt="resq_never_registered") == tabulate(ROWS, tablefmt="simple")


def test_custom_table_format_objects_still_work():
    fmt = TableFormat(lineabove=None, linebelowheader=None, linebetweenrows=None, linebelow=None,
                      headerrow=simple_separated_format("!").headerrow,
                      datarow=simple_separated_format("!").datarow, padding=0, with_header_hide=None)
    assert tabulate(ROWS, tablefmt=fmt).splitlines()[1] == "eggs!451"
