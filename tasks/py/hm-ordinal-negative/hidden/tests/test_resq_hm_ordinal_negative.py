import humanize


def test_negative_ordinals_take_the_suffix_of_their_magnitude():
    assert humanize.ordinal(-1) == "-1st"
    assert humanize.ordinal(-2) == "-2nd"
    assert humanize.ordinal(-3) == "-3rd"
    assert humanize.ordinal(-4) == "-4th"
    assert humanize.ordinal(-21) == "-21st"
    assert humanize.ordinal(-102) == "-102nd"


def test_negative_teens_keep_th():
    assert humanize.ordinal(-11) == "-11th"
    assert humanize.ordinal(-12) == "-12th"
    assert humanize.ordinal(-113) == "-113th"


def test_negative_strings_and_floats():
    assert humanize.ordinal("-23") == "-23rd"
    assert humanize.ordinal(-2.0) == "-2nd"


def test_female_gender_for_negative_numbers():
    assert humanize.ordinal(-1, gender="female") == "-1st"


def test_positive_ordinals_unchanged():
    assert [humanize.ordinal(n) for n in (0, 1, 2, 3, 11, 22, 113)] == [
        "0th", "1st", "2nd", "3rd", "11th", "22nd", "113th"]
