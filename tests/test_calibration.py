"""The shipped baseline reproduces the national flow figures and does not drift."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.calibration import TARGETS, calibration_table
from simulation.distributions import DAYS_PER_YEAR
from simulation.results import simulate
from simulation.scenario import STAGES
from simulation.stats import mean_ci

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def table(baseline):
    return calibration_table(baseline, reps=6, years=5, seed=100)


@pytest.mark.parametrize("target", TARGETS, ids=[t.measure for t in TARGETS])
def test_baseline_reproduces_national_figure(table, target):
    row = table.set_index("measure").loc[target.measure]
    assert abs(row["model"] - target.value) <= target.tolerance, (
        f"{target.measure}: model {row['model']:.4g} "
        f"(95% CI {row['ci_low']:.4g}-{row['ci_high']:.4g}) vs {target.value} "
        f"+/- {target.tolerance} ({target.source})")


def test_steady_state_baseline_does_not_drift(baseline):
    """Equivalence test: the change in each stock from year 1 to year 5, with its 95% CI
    over replications, lies within +/-5% of the stock's level."""
    changes: dict[str, list[float]] = {s: [] for s in STAGES}
    levels: dict[str, list[float]] = {s: [] for s in STAGES}
    for seed in range(200, 206):
        stocks = simulate(baseline, seed, 5).stocks
        year = (stocks["day"] // DAYS_PER_YEAR).astype(int)
        for stage in STAGES:
            by_year = stocks[stocks["stage"] == stage].groupby(year)["open"].mean()
            changes[stage].append(by_year.loc[4] - by_year.loc[0])
            levels[stage].append(by_year.mean())
    for stage in STAGES:
        ci = mean_ci(changes[stage])
        margin = 0.05 * float(np.mean(levels[stage]))
        assert -margin <= ci.low and ci.high <= margin, (stage, ci, margin)
