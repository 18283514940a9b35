"""Statistics against values computed by hand (and, for pass@k, against its definition by enumeration)."""

from __future__ import annotations

import itertools
import math

import pytest

from resq_runner.reports.stats import mcnemar_exact, pass_at_k, paired_bootstrap_ci, wilson_interval, _percentile


@pytest.mark.parametrize("successes,trials,low,high", [
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I, method 3 (Wilson)
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
    # 3/3 by hand: z²=3.8415, centre=(1+z²/6)/(1+z²/3)=0.71924, half=z·sqrt(z²/36)/(1+z²/3)=0.28076
    (3, 3, 0.4385, 1.0),
    # 7/10 by hand: centre=(0.7+0.19208)/1.38415=0.64449, half=1.95996·sqrt(0.021+0.009604)/1.38415=0.24772
    (7, 10, 0.3968, 0.8922),
])
def test_wilson_interval_matches_published_and_hand_computed_values(successes, trials, low, high):
    got_low, got_high = wilson_interval(successes, trials)
    assert got_low == pytest.approx(low, abs=5e-5)
    assert got_high == pytest.approx(high, abs=5e-5)


def test_wilson_interval_without_trials_is_uninformative_and_rejects_impossible_counts():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(4, 3)


@pytest.mark.parametrize("n,c,k,expected", [
    (5, 2, 1, 2 / 5),                 # pass@1 is c/n
    (5, 2, 2, 1 - 3 / 10),            # 1 - C(3,2)/C(5,2)
    (5, 2, 3, 1 - 1 / 10),            # 1 - C(3,3)/C(5,3)
    (5, 2, 4, 1.0),                   # fewer failures than k: some sample always passes
    (10, 3, 5, 1 - 21 / 252),         # 1 - C(7,5)/C(10,5)
    (10, 0, 5, 0.0),
    (4, 4, 4, 1.0),
    (200, 13, 100, 1 - math.comb(187, 100) / math.comb(200, 100)),
])
def test_pass_at_k_unbiased_estimator(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_pass_at_k_equals_the_share_of_k_subsets_with_a_pass():
    n, c = 7, 3
    samples = [True] * c + [False] * (n - c)
    for k in range(1, n + 1):
        subsets = list(itertools.combinations(samples, k))
        assert pass_at_k(n, c, k) == pytest.approx(sum(any(s) for s in subsets) / len(subsets))


def test_pass_at_k_rejects_k_above_n():
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)


@pytest.mark.parametrize("only_a,only_b,expected", [
    (1, 6, 2 * (1 + 7) / 2**7),       # 0.125
    (6, 1, 0.125),                    # symmetric
    (0, 5, 2 / 2**5),                 # 0.0625
    (2, 10, 2 * (1 + 12 + 66) / 2**12),  # 0.0385742...
    (3, 3, 1.0),                      # 2·P(X≤3 | n=6) = 2·42/64 > 1 → capped at 1
    (0, 0, 1.0),                      # no discordant pairs: no evidence either way
    (0, 1, 1.0),
])
def test_mcnemar_exact_p_values(only_a, only_b, expected):
    assert mcnemar_exact(only_a, only_b) == pytest.approx(expected, rel=1e-12)


def test_paired_bootstrap_degenerate_cases_are_exact():
    assert paired_bootstrap_ci([0, 0, 0, 0], [1, 1, 1, 1]) == (1.0, 1.0, 1.0)
    assert paired_bootstrap_ci([1, 0, 1], [1, 0, 1]) == (0.0, 0.0, 0.0)
    assert paired_bootstrap_ci([], []) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        paired_bootstrap_ci([1], [1, 0])


def test_paired_bootstrap_is_seeded_and_brackets_the_observed_difference():
    a = [1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1]
    b = [1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    mean, low, high = paired_bootstrap_ci(a, b, seed=7)
    assert mean == pytest.approx((sum(b) - sum(a)) / len(a))  # +3/12
    assert low < mean < high
    assert -1 <= low and high <= 1
    assert paired_bootstrap_ci(a, b, seed=7) == (mean, low, high)
    # differences (0,-1,0,+1,+1,0,+1,0,0,+1,0,0): sd of the mean = sqrt(4.25/12/12) = 0.172, so the normal
    # approximation gives 0.25 ± 0.337 = (-0.087, 0.587); the percentile interval must lie close to it
    assert low == pytest.approx(-0.087, abs=0.06) and high == pytest.approx(0.587, abs=0.06)


def test_percentile_interpolates_like_numpy():
    assert _percentile([0.0, 1.0, 2.0, 3.0], 0.5) == 1.5
    assert _percentile([0.0, 1.0, 2.0, 3.0], 0.025) == pytest.approx(0.075)
    assert _percentile([5.0], 0.975) == 5.0
