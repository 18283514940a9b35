import subprocess
import sys

import pytest

from tabulate import tabulate_formats

DATA = "apple 1\nbanana 22\ncherry 333\n"
WIDE = "id,text\n1,alpha beta gamma\n22,delta\n"


def run(*args, input=None):
    proc = subprocess.run([sys.executable, "tabulate/__init__.py", *args], input=input, capture_output=True,
                          text=True, timeout=60)
    return proc


@pytest.mark.parametrize("option", ["-C", "--colalign"])
def test_colalign_short_and_long_options(option):
    proc = run(option, "right left", input=DATA)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [
        "------  ---",
        " apple  1",
        "banana  22",
        "cherry  333",
        "------  ---",
    ]


def test_help_documents_colalign_and_maxcolwidths():
    proc = run("--help")
    assert proc.returncode == 0
    assert "-C" in proc.stdout and "--colalign" in proc.stdout
    assert "-W" in proc.stdout and "--maxcolwidths" in proc.stdout


def test_help_lists_every_supported_format():
    proc = run("-h")
    missing = [fmt for fmt in tabulate_formats if fmt not in proc.stdout]
    assert not missing


@pytest.mark.parametrize("option", ["-W", "--maxcolwidths"])
def test_maxcolwidths_for_every_column(option):
    proc = run(option, "6", "-s", ",", "-1", input=WIDE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [
        "  id  text",
        "----  ------",
        "   1  alpha",
        "      beta",
        "      gamma",
        "  22  delta",
    ]


def test_maxcolwidths_per_column_with_an_empty_entry():
    proc = run("--maxcolwidths", ",11", "-s", ",", "-1", "-f", "grid", input=WIDE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [
        "+------+------------+",
        "|   id | text       |",
        "+======+============+",
        "|    1 | alpha beta |",
        "|      | gamma      |",
        "+------+------------+",
        "|   22 | delta      |",
        "+------+------------+",
    ]


def test_bad_maxcolwidths_value_is_a_usage_error():
    proc = run("--maxcolwidths", "wide", input=DATA)
    assert proc.returncode == 2
    message = proc.stdout + proc.stderr
    assert "maxcolwidths" in message and "wide" in message


def test_without_new_options_output_is_unchanged():
    proc = run(input=DATA)
    assert proc.stdout.splitlines() == ["------  ---", "apple     1", "banana   22", "cherry  333", "------  ---"]
