from __future__ import annotations

import random

import pytest

from nktenv.bench.stats import blocks_needed, bootstrap_ratio, is_noisy, median, quantile, summarize


def test_quantiles_match_linear_interpolation() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert median(values) == 3.0
    assert quantile(values, 0.25) == 2.0
    assert quantile(values, 0.75) == 4.0
    assert quantile([1.0, 2.0], 0.5) == 1.5
    assert quantile([10.0, 20.0, 30.0, 40.0], 0.25) == pytest.approx(17.5)


def test_summary_and_noise_flags() -> None:
    steady = summarize([100.0, 101.0, 99.0, 100.5, 99.5, 100.0, 100.2, 99.8, 100.1, 99.9])
    assert steady.median == pytest.approx(100.0)
    assert not steady.noisy
    # Wide IQR: 80..120 around 100 is 40 % of the median.
    wide = summarize([80.0, 90.0, 100.0, 110.0, 120.0] * 2)
    assert wide.iqr / wide.median > 0.10 and wide.noisy
    # Tight IQR but one stalled block: median/min = 1.5 > 1.3.
    stalled = summarize([100.0] * 9 + [66.0])
    assert stalled.iqr == 0 and stalled.noisy
    assert is_noisy(summarize([0.0, 1.0]))


def test_bootstrap_ratio_covers_the_true_ratio_and_is_deterministic() -> None:
    rng = random.Random(7)
    gpu = [50_000 * (1 + rng.gauss(0, 0.03)) for _ in range(10)]
    cpu = [1_000 * (1 + rng.gauss(0, 0.03)) for _ in range(10)]
    ci = bootstrap_ratio(gpu, cpu, seed=1)
    assert ci.low < 50.0 < ci.high
    assert ci.low < ci.ratio < ci.high
    assert 0.9 * 50 < ci.low and ci.high < 1.1 * 50
    assert bootstrap_ratio(gpu, cpu, seed=1) == ci


def test_bootstrap_ci_widens_with_noise() -> None:
    rng = random.Random(3)
    quiet = bootstrap_ratio([100 * (1 + rng.gauss(0, 0.02)) for _ in range(10)], [10.0] * 10)
    noisy = bootstrap_ratio([100 * (1 + rng.gauss(0, 0.4)) for _ in range(10)], [10.0] * 10)
    assert (noisy.high - noisy.low) > 3 * (quiet.high - quiet.low)


def test_bootstrap_needs_blocks() -> None:
    with pytest.raises(ValueError):
        bootstrap_ratio([], [1.0])


@pytest.mark.parametrize(("cv", "h", "expected"), [(0.07, 0.05, 12), (0.11, 0.10, 8), (0.30, 0.05, 217), (0.03, 0.02, 14)])
def test_blocks_needed_reproduces_the_methodology_table(cv: float, h: float, expected: int) -> None:
    assert abs(blocks_needed(cv, h) - expected) <= 1
