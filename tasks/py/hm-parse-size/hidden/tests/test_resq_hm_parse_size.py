import pytest

import humanize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.0 MB", 3_000_000),
        ("1 kB", 1000),
        ("2.5 GB", 2_500_000_000),
        ("2.5 KiB", 2560),
        ("1 MiB", 1024**2),
        ("4.0 TiB", 4 * 1024**4),
        ("300 Bytes", 300),
        ("1 Byte", 1),
        ("0 Bytes", 0),
    ],
)
def test_parses_decimal_binary_and_plain_units(text, expected):
    assert humanize.parse_size(text) == expected


def test_gnu_style_units_are_powers_of_1024():
    assert humanize.parse_size("300B") == 300
    assert humanize.parse_size("2K") == 2048
    assert humanize.parse_size("1.5M") == 1572864
    assert humanize.parse_size("2.9K") == 2970


def test_space_is_optional_and_surrounding_whitespace_ignored():
    assert humanize.parse_size("3MB") == 3_000_000
    assert humanize.parse_size("  12 KiB ") == 12 * 1024


def test_negative_sizes():
    assert humanize.parse_size("-4.0 KiB") == -4096
    assert humanize.parse_size("-1 Byte") == -1


def test_large_units_are_exact():
    assert humanize.parse_size("10 RB") == 10**28
    assert humanize.parse_size("1 QiB") == 1024**10


def test_plain_number_means_bytes():
    assert humanize.parse_size("1234") == 1234


@pytest.mark.parametrize("value", [0, 1, 300, 4096, 3_000_000, 123_456_789, -2048, 10**15])
@pytest.mark.parametrize("mode", [{}, {"binary": True}, {"gnu": True}])
def test_round_trip_with_naturalsize(value, mode):
    text = humanize.naturalsize(value, format="%.6f", **mode)
    base = 1024 if mode else 1000
    parsed = humanize.parse_size(text)
    # naturalsize rounds to 6 decimals of its unit; the round trip is exact up to that
    assert abs(parsed - value) <= max(1, abs(value) / base**2)


@pytest.mark.parametrize("bad", ["", "MB", "3 XB", "abc", "1.2.3 kB", "5 k", "1 kib"])
def test_rejects_what_is_not_a_size(bad):
    with pytest.raises(ValueError):
        humanize.parse_size(bad)


def test_exported_from_the_package():
    assert "parse_size" in humanize.__all__
    from humanize.filesize import parse_size

    assert parse_size is humanize.parse_size
