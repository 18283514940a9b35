from textstats import most_common, word_count


def test_simple_sentence():
    assert word_count("the quick brown fox") == 4


def test_most_common_counts_case_insensitively():
    assert most_common("a A b", 1) == [("a", 2)]
