from datetime import timedelta

import pytest

from boltons.timeutils import parse_td, parse_timedelta


def test_documented_examples_still_hold():
    assert parse_timedelta('1d 2h 3.5m 0s') == timedelta(days=1, seconds=7410)
    assert parse_timedelta('2 weeks 1 day') == timedelta(days=15)
    assert parse_timedelta('-1.5 weeks 3m 20s') == timedelta(days=-11, seconds=43400)
    assert parse_td is parse_timedelta


def test_compact_terms_without_spaces():
    assert parse_timedelta('1h30m') == timedelta(hours=1, minutes=30)
    assert parse_timedelta('2d4h') == timedelta(days=2, hours=4)
    assert parse_timedelta('1w2d3h4m5s') == timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)
    assert parse_timedelta('1.5h30s') == timedelta(hours=1.5, seconds=30)


@pytest.mark.parametrize(('text', 'expected'), [
    ('90 seconds', timedelta(seconds=90)),
    ('3 secs', timedelta(seconds=3)),
    ('5 min', timedelta(minutes=5)),
    ('2 hrs', timedelta(hours=2)),
    ('1 hour', timedelta(hours=1)),
    ('4 days', timedelta(days=4)),
    ('2 wks', timedelta(weeks=2)),
    ('1 hour, 30 minutes', timedelta(hours=1, minutes=30)),
    ('  2h  ', timedelta(hours=2)),
])
def test_unit_spellings_and_separators(text, expected):
    assert parse_timedelta(text) == expected


def test_repeated_units_add_up():
    assert parse_timedelta('1h 1h') == timedelta(hours=2)
    assert parse_timedelta('30m 45m') == timedelta(minutes=75)


@pytest.mark.parametrize('text', ['2 months', '1 year', '5ms', '3 hx', '2 mo'])
def test_units_without_a_fixed_meaning_are_rejected(text):
    # "2 months" used to come out as 2 minutes and "5ms" as 5 minutes
    with pytest.raises(ValueError):
        parse_timedelta(text)


@pytest.mark.parametrize('text', ['', '   ', 'soon', '10', '1h 30', '1h and 30m', '1h; 2m', 'h'])
def test_text_that_is_not_all_time_periods_is_rejected(text):
    with pytest.raises(ValueError):
        parse_timedelta(text)
