"""Measure a scenario's steady-state caseload, for its ``initial_state``.

A run starts from the council's current caseload. For a scenario meant to be in
steady state (the shipped baseline), that caseload should be the model's own
long-run average, or year 1 will show a transient that is an artefact of the start.
"""

from __future__ import annotations

import numpy as np

from simulation.engine.journey import Simulation
from simulation.outputs.run import gc_paused
from simulation.randomness.distributions import DAYS_PER_YEAR
from simulation.scenario import STAGES, Scenario


def steady_state_caseload(scenario: Scenario, years: float = 12.0, reps: int = 4,
                          seed: int = 0) -> dict[str, int]:
    """Mean open cases per stage (and the re-referral pipeline) over the second half."""
    totals = dict.fromkeys((*STAGES, "closed_returning"), 0.0)
    for rep in range(reps):
        sim = Simulation(scenario, seed + rep, years)
        with gc_paused():
            rec = sim.run()
        start = years / 2 * DAYS_PER_YEAR
        stocks = rec.stocks_table()
        stocks = stocks[stocks["day"] >= start]
        means = stocks.groupby("stage")["open"].mean()
        for stage in STAGES:
            totals[stage] += float(means[stage]) / reps
        pipeline = [snap[3] for snap in rec.caseload_snapshots if snap[0] >= start]
        totals["closed_returning"] += float(np.mean(pipeline)) / reps
    return {k: int(round(v)) for k, v in totals.items()}
