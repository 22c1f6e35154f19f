"""Measure a scenario's steady-state caseload, for its ``initial_state``.

A run starts from the council's current caseload. For a scenario meant to be in
steady state (the shipped baseline), that caseload should be the model's own
long-run average, or year 1 will show a transient that is an artefact of the start.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulation.engine.journey import Simulation
from simulation.outputs.run import gc_paused
from simulation.randomness.distributions import DAYS_PER_YEAR
from simulation.scenario import STAGES, Scenario

PLACES = (*STAGES, "closed_returning")


def _history_shares(children: list[Any]) -> dict[str, dict[str, float]]:
    """Among open cases (and the re-referral pipeline) at the end of a run, by place: the
    share with a CP plan before (for ``cp``: before the current one) and with care before."""
    cp: dict[str, list[int]] = {p: [0, 0] for p in PLACES}
    cla: dict[str, list[int]] = {p: [0, 0] for p in PLACES}
    for c in children:
        place = c.place if c.place in STAGES else ("closed_returning" if c.due_back else None)
        if place is None:
            continue
        cp[place][0] += c.cp_plans > (1 if place == "cp" else 0)
        cla[place][0] += c.cla_periods > (1 if place == "cla" else 0)
        cp[place][1] += 1
        cla[place][1] += 1
    return {"previous_cp": {p: a / n for p, (a, n) in cp.items() if n},
            "previous_cla": {p: a / n for p, (a, n) in cla.items() if n}}


def steady_state(scenario: Scenario, years: float = 12.0, reps: int = 4, seed: int = 0
                 ) -> tuple[dict[str, int], dict[str, dict[str, float]]]:
    """(mean open cases per place over the second half, history shares at the end)."""
    per_run: list[Any] = []
    counts = steady_state_caseload(scenario, years, reps, seed, per_run)
    history: dict[str, dict[str, float]] = {"previous_cp": {}, "previous_cla": {}}
    for kind in history:
        for place in PLACES:
            values = [s[kind][place] for s in per_run if place in s[kind]]
            if values:
                history[kind][place] = round(float(np.mean(values)), 3)
    return counts, history


def steady_state_caseload(scenario: Scenario, years: float = 12.0, reps: int = 4,
                          seed: int = 0, shares: list[Any] | None = None) -> dict[str, int]:
    """Mean open cases per stage (and the re-referral pipeline) over the second half;
    each run's history shares at the end are appended to ``shares`` if given."""
    totals = dict.fromkeys(PLACES, 0.0)
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
        # day 0's unaccompanied children come from their own arrival stream, not the state
        uasc = [snap[4] for snap in rec.caseload_snapshots if snap[0] >= start]
        totals["cla"] -= float(np.mean(uasc)) / reps
        pipeline = [snap[3] for snap in rec.caseload_snapshots if snap[0] >= start]
        totals["closed_returning"] += float(np.mean(pipeline)) / reps
        if shares is not None:
            shares.append(_history_shares(rec.children))
    return {k: int(round(v)) for k, v in totals.items()}
