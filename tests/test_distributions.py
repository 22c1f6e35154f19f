"""The distribution registry: each law matches its published shape, bad specs are named."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from simulation.randomness.distributions import (
    DAYS_PER_UNIT,
    DistributionError,
    build_distribution,
    length_biased_pick,
)

U = np.linspace(0.001, 0.999, 257)


def test_lognormal_from_median_and_q75_hits_both_quantiles():
    d = build_distribution({"dist": "lognormal", "median": 33, "q75": 43})
    assert d.ppf(0.5) == pytest.approx(33)
    assert d.ppf(0.75) == pytest.approx(43)


def test_lognormal_mean_sd_matches_scipy():
    d = build_distribution({"dist": "lognormal", "mean": 10, "sd": 5})
    sigma = math.sqrt(math.log(1.25))
    ref = stats.lognorm(s=sigma, scale=10 / math.sqrt(1.25))
    np.testing.assert_allclose([d.ppf(u) for u in U], ref.ppf(U), rtol=1e-9)
    assert d.mean_days == pytest.approx(10)


@pytest.mark.parametrize("spec, ref", [
    ({"dist": "exponential", "mean": 4}, stats.expon(scale=4)),
    ({"dist": "uniform", "low": 2, "high": 5}, stats.uniform(2, 3)),
    ({"dist": "weibull", "shape": 1.5, "scale": 7}, stats.weibull_min(1.5, scale=7)),
    ({"dist": "gamma", "mean": 6, "sd": 3}, stats.gamma(4, scale=1.5)),
])
def test_closed_forms_match_scipy(spec, ref):
    d = build_distribution(spec)
    np.testing.assert_allclose([d.ppf(u) for u in U], ref.ppf(U), rtol=2e-3, atol=1e-6)
    np.testing.assert_allclose(d.ppf_many(U), [d.ppf(u) for u in U], rtol=1e-9)
    assert d.mean_days == pytest.approx(ref.mean(), rel=2e-3)


def test_quantiles_pass_through_every_published_point():
    points = {0: 1, 0.25: 17, 0.5: 33, 0.75: 43, 0.86: 45, 0.96: 60, 1: 120}
    d = build_distribution({"dist": "quantiles", "points": points, "unit": "working_days"})
    for q, v in points.items():
        if q < 1:
            assert d.ppf(q) == pytest.approx(v * DAYS_PER_UNIT["working_days"])


def test_histogram_reproduces_band_shares():
    weights = [15.9, 11.0, 43.5, 25.2, 4.4]
    d = build_distribution({"dist": "histogram", "edges": [0, 3, 6, 12, 24, 36],
                            "weights": weights, "unit": "months"})
    x = d.sample(np.random.default_rng(3), 200_000) / DAYS_PER_UNIT["months"]
    shares = np.histogram(x, [0, 3, 6, 12, 24, 36])[0] / len(x)
    # Multinomial shares over 200,000 draws: sd <= 0.0012, so 0.005 is > 4 sd.
    np.testing.assert_allclose(shares, np.array(weights) / sum(weights), atol=0.005)


def test_mixture_component_weights_and_multiplier():
    d = build_distribution({"dist": "mixture", "unit": "days", "multiplier": 2, "components": [
        {"weight": 1, "dist": "fixed", "value": 10},
        {"weight": 3, "dist": "fixed", "value": 100}]})
    x = d.sample(np.random.default_rng(1), 40_000)
    assert set(np.unique(x)) == {20.0, 200.0}
    assert np.mean(x == 20.0) == pytest.approx(0.25, abs=0.01)  # sd 0.0022
    assert d.mean_days == pytest.approx(155)


def test_units_convert_working_days_explicitly():
    d = build_distribution({"dist": "fixed", "value": 253, "unit": "working_days"})
    assert d.ppf(0.3) == pytest.approx(365.25)


@pytest.mark.parametrize("spec, words", [
    ({"dist": "lognormal", "median": 10, "q75": 5}, "q75"),
    ({"dist": "lognormal", "median": -1, "sigma": 1}, "median must be > 0"),
    ({"dist": "exponential"}, "needs mean"),
    ({"dist": "exponential", "mean": 1, "sd": 2}, "unexpected parameter"),
    ({"dist": "nope"}, "dist must be one of"),
    ({"dist": "fixed", "value": -2}, "value must be >= 0"),
    ({"dist": "fixed", "value": 1, "unit": "fortnights"}, "unit must be one of"),
    ({"dist": "fixed", "value": 1, "multiplier": 0}, "multiplier must be"),
    ({"dist": "quantiles", "points": {0.1: 1, 1: 3}}, "start at probability 0"),
    ({"dist": "histogram", "edges": [0, 1], "weights": [1, 2]}, "one more entry"),
    ({"dist": "mixture", "components": [{"dist": "fixed", "value": 1}]}, "needs a weight"),
])
def test_bad_specs_name_the_problem(spec, words):
    with pytest.raises(DistributionError, match=words):
        build_distribution(spec)


def test_length_biased_pick_favours_long_cases():
    lengths = np.array([1.0, 3.0])
    picks = length_biased_pick(lengths, np.random.default_rng(0).random(40_000))
    # P(pick the 3-day case) = 3/4; sd of the share is 0.0022.
    assert np.mean(picks == 1) == pytest.approx(0.75, abs=0.01)
