from datetime import date, datetime

import parse


def test_iso_week_date():
    assert parse.parse("{:%G-W%V-%u}", "2024-W05-3")[0] == date(2024, 1, 31)


def test_iso_year_differs_from_calendar_year():
    # ISO week 1 of 2021 starts on Monday 4 January; 2020-W53-5 is 1 January 2021
    assert parse.parse("{:%G-W%V-%u}", "2020-W53-5")[0] == date(2021, 1, 1)
    assert parse.parse("{d:%G-W%V-%u}", "2021-W01-1")["d"] == date(2021, 1, 4)


def test_single_digit_week_and_compact_form():
    assert parse.parse("{:%G-W%V-%u}", "2024-W5-3")[0] == date(2024, 1, 31)
    assert parse.parse("{:%GW%V%u}", "2024W053")[0] == date(2024, 1, 31)


def test_iso_week_date_with_time_is_a_datetime():
    result = parse.parse("{:%G-W%V-%u %H:%M}", "2024-W05-3 14:30")[0]
    assert result == datetime(2024, 1, 31, 14, 30)


def test_search_finds_iso_week_dates_in_text():
    result = parse.search("due {due:%G-W%V-%u}", "Release is due 2025-W10-5, barring surprises")
    assert result["due"] == date(2025, 3, 7)


def test_weekday_outside_one_to_seven_does_not_match():
    assert parse.parse("{:%G-W%V-%u}", "2024-W05-8") is None
    assert parse.parse("{:%G-W%V-%u}", "2024-W05-0") is None


def test_calendar_formats_are_unchanged():
    assert parse.parse("{:%Y-%m-%d}", "2024-01-31")[0] == date(2024, 1, 31)
    assert parse.parse("{:%Y/%j}", "2024/031")[0] == date(2024, 1, 31)
    assert parse.parse("{:%d/%m/%Y %H:%M}", "31/01/2024 14:30")[0] == datetime(2024, 1, 31, 14, 30)
