from datetime import date, datetime, time, timedelta, timezone

import pytest

import parse


def test_bar_is_not_a_timezone_sign():
    assert parse.parse("{:%H:%M%z}", "10:30|0100") is None
    assert parse.search("at {:%H:%M%z}", "at 10:30|0100") is None


def test_signed_offsets_still_parse():
    assert parse.parse("{:%H:%M%z}", "10:30+0100")[0] == time(10, 30, tzinfo=timezone(timedelta(hours=1)))
    assert parse.parse("{:%H:%M %z}", "10:30 -05:30")[0] == time(
        10, 30, tzinfo=timezone(-timedelta(hours=5, minutes=30)))


def test_error_names_the_text_and_format_the_user_gave():
    with pytest.raises(ValueError) as caught:
        parse.parse("at {:%H:%M}", "at 24:61")
    message = str(caught.value)
    assert "'24:61'" in message and "'%H:%M'" in message
    assert "%Y" not in message
    assert str(datetime.today().year) not in message


def test_error_for_year_less_dates():
    with pytest.raises(ValueError) as caught:
        parse.parse("{:%d/%m}", "31/13")
    message = str(caught.value)
    assert "'31/13'" in message and "'%d/%m'" in message and "%Y" not in message


def test_error_with_an_explicit_year_is_unchanged():
    with pytest.raises(ValueError) as caught:
        parse.parse("{:%Y-%m-%d}", "2024-13-01")
    assert str(caught.value) == "time data '2024-13-01' does not match format '%Y-%m-%d'"


def test_valid_values_unchanged():
    assert parse.parse("{:%H:%M}", "10:30")[0] == time(10, 30)
    assert parse.parse("{:%Y-%m-%d}", "2024-02-29")[0] == date(2024, 2, 29)
