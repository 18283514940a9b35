from textstats import average_word_length, word_count


def test_empty_text_has_no_words():
    assert word_count("") == 0


def test_runs_of_spaces_and_newlines():
    assert word_count("  the quick\n\nbrown   fox\t") == 4


def test_average_ignores_whitespace():
    assert average_word_length("ab  cd\n") == 2.0
