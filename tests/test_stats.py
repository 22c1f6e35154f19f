"""Batch statistics: intervals against hand computation and coverage, the precision rule,
MSER-5 on a planted transient, tidy summaries."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simulation.analysis.stats import (
    mean_ci,
    mser5,
    paired_difference_ci,
    paired_differences,
    relative_half_width,
    replications_needed,
    summarise,
    warmup_warning,
    welch_difference_ci,
)


def test_mean_ci_matches_a_hand_computation():
    x = [2.0, 4.0, 4.0, 5.0, 7.0]
    half = stats.t.ppf(0.975, 4) * np.std(x, ddof=1) / math.sqrt(5)
    ci = mean_ci(x)
    assert (ci.mean, ci.half_width, ci.n) == pytest.approx((4.4, half, 5))
    assert math.isnan(mean_ci([3.0]).low) and mean_ci([]).n == 0


def test_mean_ci_covers_the_truth_95_percent_of_the_time():
    rng = np.random.default_rng(42)
    samples = rng.normal(10, 3, size=(2000, 10))
    covered = np.mean([mean_ci(s).low <= 10 <= mean_ci(s).high for s in samples])
    # Binomial standard error of a 0.95 share over 2,000 trials is 0.0049: allow 4 of them.
    assert abs(covered - 0.95) < 4 * math.sqrt(0.95 * 0.05 / 2000)


def test_pairing_removes_shared_noise():
    rng = np.random.default_rng(1)
    shared = rng.normal(0, 5, 30)
    a, b = shared + rng.normal(0, 0.5, 30), shared + 1 + rng.normal(0, 0.5, 30)
    paired, welch = paired_difference_ci(a, b), welch_difference_ci(a, b)
    assert paired.mean == pytest.approx(welch.mean)
    assert paired.half_width < welch.half_width / 3
    with pytest.raises(ValueError, match="equal lengths"):
        paired_difference_ci([1, 2], [1, 2, 3])


def test_replication_rule_and_a_sequential_loop_that_stops():
    rng = np.random.default_rng(7)
    precise = rng.normal(100, 1, 10)
    assert replications_needed(precise, 0.05) == 10
    noisy = list(rng.normal(100, 40, 5))
    assert replications_needed(noisy, 0.05) > 5
    while relative_half_width(noisy) > 0.05:
        target = replications_needed(noisy, 0.05, cap=2000)
        noisy += list(rng.normal(100, 40, target - len(noisy)))
    assert relative_half_width(noisy) <= 0.05 and len(noisy) < 2000
    with pytest.raises(ValueError):
        replications_needed([1.0], 0.05)


def test_mser5_finds_a_planted_transient_and_not_a_phantom():
    rng = np.random.default_rng(3)
    series = rng.normal(0, 1, 1000)
    series[:200] += 5
    assert 150 <= mser5(series).truncation_index <= 300
    stationary = rng.normal(0, 1, 1000)
    assert mser5(stationary).truncation_fraction < 0.1
    assert warmup_warning(series, "stock") and warmup_warning(stationary, "stock") is None


def test_warmup_warning_ignores_a_shift_too_small_to_matter():
    """A stock that starts 1% above its level: MSER-5 truncates, but it is no warm-up
    problem; 10% above is one."""
    rng = np.random.default_rng(4)
    noise = rng.normal(0, 2, 260)
    slight, large = 2000 + noise, 2000 + noise
    slight[:80] += 20
    large[:80] += 200
    assert mser5(slight).truncation_fraction > 0.1
    assert warmup_warning(slight, "open cases") is None
    message = warmup_warning(large, "open cases")
    assert message and "10.0% higher" in message


def test_summaries_have_the_documented_columns_and_values():
    runs = pd.DataFrame({"scenario": ["a", "a", "b", "b"], "rep": [0, 1, 0, 1],
                         "k": [1.0, 3.0, 2.0, 6.0]})
    s = summarise(runs, ["k"])
    assert list(s.columns) == ["scenario", "kpi", "mean", "ci_low", "ci_high", "n"]
    assert s["mean"].tolist() == [2.0, 4.0]
    d = paired_differences(runs, ["k"], baseline="a")
    assert list(d.columns) == ["scenario", "baseline", "kpi", "mean_difference", "ci_low",
                               "ci_high", "n"]
    assert d["mean_difference"].iloc[0] == 2.0 and d["n"].iloc[0] == 2
