"""Starts and ends of each stage in a window of a run: the inflow and outflow behind a stock.

Used by the drift check (a stock that moves in year 1 names the imbalance that moves
it) and by the local calibration (a plan length is right when, at the council's own
caseload, as many plans end as start).
"""

from __future__ import annotations

from collections.abc import Iterable

from simulation.engine.recorder import Child
from simulation.randomness.distributions import DAYS_PER_YEAR
from simulation.scenario import STAGES

FLOW_PREFIX = "year1_"  # run-row columns: year1_<stage>_starts, year1_<stage>_ends


def stage_flows(children: Iterable[Child], start: float, end: float) -> dict[str, tuple[int, int]]:
    """(starts, ends) of each stage with the day in [start, end): a child moving from CIN
    to CP ends a CIN spell and starts a CP one; open cases of day 0 (initial caseload, unaccompanied children in care) are not starts."""
    starts = dict.fromkeys(STAGES, 0)
    ends = dict.fromkeys(STAGES, 0)
    for child in children:
        spells = child.spells
        for i, (place, day) in enumerate(spells):
            if place not in starts:
                continue
            # a first spell on day 0 is an open case of day 0 (the initial caseload, or an
            # unaccompanied child already in care), not a start
            if start <= day < end and not (i == 0 and day <= 0):
                starts[place] += 1
            if i + 1 < len(spells) and start <= spells[i + 1][1] < end:
                ends[place] += 1
    return {s: (starts[s], ends[s]) for s in STAGES}


def year_one_columns(children: Iterable[Child]) -> dict[str, float]:
    """Year-1 starts and ends of each stage as flat columns for a run's row."""
    flows = stage_flows(children, 0.0, DAYS_PER_YEAR)
    out: dict[str, float] = {}
    for stage, (starts, ends) in flows.items():
        out[f"{FLOW_PREFIX}{stage}_starts"] = float(starts)
        out[f"{FLOW_PREFIX}{stage}_ends"] = float(ends)
    return out
