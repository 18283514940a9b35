"""Statistics for reports and comparisons: pure functions of counts, no I/O, standard library only."""

from __future__ import annotations

import math
import random
from statistics import NormalDist
from typing import Sequence

Z_95 = 1.959963984540054  # the standard normal quantile for a two-sided 95 % interval
EXACT_PAIRS = 1000  # above this many discordant pairs McNemar's terms are summed in floats (log space)
BOOTSTRAP_TASKS = 5000  # above this many paired tasks the bootstrap gives way to its normal limit


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion; (0, 1) when there are no trials.

    Chosen over the normal approximation because benchmark suites are small and pass rates often sit near 0 or 1,
    where the normal interval leaves [0, 1] or collapses to a point.
    """
    if trials <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= trials:
        raise ValueError(f"successes {successes} must lie between 0 and trials {trials}")
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    center = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    return max(0.0, center - half), min(1.0, center + half)


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator (Chen et al., 2021): 1 - C(n-c, k) / C(n, k) for n samples of which c pass.

    Computed as a running product so large n never builds huge binomial coefficients.
    """
    if not 0 < k <= n:
        raise ValueError(f"pass@{k} needs 1 <= k <= n, and n is {n}")
    if not 0 <= c <= n:
        raise ValueError(f"c {c} must lie between 0 and n {n}")
    if n - c < k:
        return 1.0
    all_fail = 1.0
    for i in range(n - c + 1, n + 1):
        all_fail *= 1 - k / i
    return 1.0 - all_fail


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs (passed only in A, passed only in B).

    Under the null hypothesis each discordant pair is a fair coin: p = min(1, 2 * P(X <= min(b, c))), X ~ Bin(b+c, 1/2).
    """
    if only_a < 0 or only_b < 0:
        raise ValueError("discordant counts cannot be negative")
    n = only_a + only_b
    if n == 0:
        return 1.0
    if n > EXACT_PAIRS:  # integers of thousands of digits (0.19 s for 24k pairs): the same sum in log space
        logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2)
                for i in range(min(only_a, only_b) + 1)]
        top = max(logs)
        return min(1.0, 2 * math.exp(top) * math.fsum(math.exp(x - top) for x in logs))
    term, total = 1, 1  # C(n, i) from C(n, i-1): math.comb per term made 50k discordant pairs take minutes
    for i in range(1, min(only_a, only_b) + 1):
        term = term * (n - i + 1) // i
        total += term
    return min(1.0, 2 * (total / 2**n))


def paired_bootstrap_ci(a: Sequence[int], b: Sequence[int], iterations: int = 10_000, seed: int = 0,
                        level: float = 0.95) -> tuple[float, float, float]:
    """Mean of b - a over paired tasks and a percentile bootstrap interval for it, resampling tasks.

    a and b are 0/1 per task in the same order. The generator is seeded so the same runs always give the same
    interval (a nightly job must not flip between "significant" and not on a rerun).
    """
    if len(a) != len(b):
        raise ValueError("paired samples must have the same length")
    if not a:
        return 0.0, 0.0, 0.0
    differences = [y - x for x, y in zip(a, b)]
    n = len(differences)
    if n > BOOTSTRAP_TASKS:
        return _normal_limit(differences, level)
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(differences, k=n)) / n for _ in range(iterations))
    tail = (1 - level) / 2
    return sum(differences) / n, _percentile(means, tail), _percentile(means, 1 - tail)


def _normal_limit(differences: Sequence[int], level: float) -> tuple[float, float, float]:
    """The bootstrap interval's large-sample limit, mean ± z·sd/√n: past BOOTSTRAP_TASKS pairs the resampled means
    are normal to well under the interval's own precision, and resampling would cost n × 10,000 draws."""
    n = len(differences)
    mean = sum(differences) / n
    spread = math.sqrt(sum((d - mean) ** 2 for d in differences) / n / n)
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    return mean, max(-1.0, mean - z * spread), min(1.0, mean + z * spread)


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    position = q * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)
