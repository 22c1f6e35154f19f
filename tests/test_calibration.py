"""The shipped baseline reproduces the national flow figures and does not drift."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.analysis.stats import mean_ci
from simulation.experiments.batch import run_batch
from simulation.experiments.calibration import TARGETS, calibration_table
from simulation.randomness.distributions import DAYS_PER_YEAR
from simulation.scenario import STAGES

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
    """Equivalence test: each stock's trend over 5 years (least-squares slope of its weekly
    values, per replication), with its 95% CI over 16 replications, lies within +/-5% of
    the stock's level. 16 replications: the CP and CLA stocks wander (long plans), and
    fewer leave the interval wider than the margin (measured: +/-25 cases with 8)."""
    runs = run_batch([baseline], 16, seed=200, years=5, jobs=2, progress=False)
    for stage in STAGES:
        changes, levels = [], []
        for _, frame in runs.stocks[runs.stocks["stage"] == stage].groupby("rep"):
            slope = np.polyfit(frame["day"].to_numpy(), frame["open"].to_numpy(), 1)[0]
            changes.append(slope * 5 * DAYS_PER_YEAR)
            levels.append(frame["open"].mean())
        ci = mean_ci(changes)
        margin = 0.05 * float(np.mean(levels))
        assert -margin <= ci.low and ci.high <= margin, (stage, ci, margin)
