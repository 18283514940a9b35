import importlib
import subprocess
import sys

import pytest

NAMES = ['parse_int_list', 'format_int_list', 'complement_int_list', 'int_ranges_from_int_list']


def test_new_module_exports_the_int_list_helpers():
    rangeutils = importlib.import_module('boltons.rangeutils')
    assert sorted(rangeutils.__all__) == sorted(NAMES)


@pytest.mark.parametrize('name', NAMES)
def test_helpers_are_defined_in_rangeutils(name):
    rangeutils = importlib.import_module('boltons.rangeutils')
    assert getattr(rangeutils, name).__module__ == 'boltons.rangeutils'


@pytest.mark.parametrize('name', NAMES)
def test_strutils_keeps_the_same_objects(name):
    from boltons import strutils
    rangeutils = importlib.import_module('boltons.rangeutils')
    assert getattr(strutils, name) is getattr(rangeutils, name)
    assert name in strutils.__all__


def test_rangeutils_does_not_depend_on_strutils():
    code = ('import sys, boltons.rangeutils as r; '
            'assert "boltons.strutils" not in sys.modules, "strutils imported"; '
            'print(r.format_int_list([1, 2, 3, 5]))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '1-3,5'


def test_behaviour_is_unchanged():
    from boltons.strutils import (complement_int_list, format_int_list, int_ranges_from_int_list,
                                  parse_int_list)
    assert parse_int_list('1,3,5-8,10-11,15') == [1, 3, 5, 6, 7, 8, 10, 11, 15]
    assert parse_int_list('8-5') == [5, 6, 7, 8]
    assert format_int_list([1, 3, 5, 6, 7, 8, 10, 11, 15]) == '1,3,5-8,10-11,15'
    assert format_int_list([5, 6, 7, 8], delim_space=True, range_delim=':') == '5:8'
    assert complement_int_list('1,3,5-8,10-11,15') == '0,2,4,9,12-14'
    assert complement_int_list('1,3,5-8', range_start=2, range_end=3) == '2'
    assert int_ranges_from_int_list('1,3,5-8,10-11,15') == ((1, 1), (3, 3), (5, 8), (10, 11), (15, 15))
