"""Starts and ends of each stage in a window of a run: the inflow and outflow behind a stock.

Used by the drift check (a stock that moves in year 1 names the imbalance that moves
it) and by the local calibration (a plan length is right when, at the council's own
caseload, as many plans end as start).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from simulation.engine.recorder import Child
from simulation.outputs.histories import Histories, histories
from simulation.randomness.distributions import DAYS_PER_YEAR
from simulation.scenario import STAGES

FLOW_PREFIX = "year1_"  # run-row columns: year1_<stage>_starts, year1_<stage>_ends


def stage_flows(children: Iterable[Child] | Histories, start: float,
                end: float) -> dict[str, tuple[int, int]]:
    """(starts, ends) of each stage with the day in [start, end): a child moving from CIN
    to CP ends a CIN spell and starts a CP one; open cases of day 0 (initial caseload,
    unaccompanied children in care) are not starts."""
    s = histories(children).spells
    # a first spell on day 0 is an open case of day 0 (the initial caseload, or an
    # unaccompanied child already in care), not a start
    began = (start <= s.day) & (s.day < end) & ~(s.first() & (s.day <= 0))
    next_day = s.next_day()
    ended = (start <= next_day) & (next_day < end)  # the last spell's is NaN: never
    return {stage: (int(np.count_nonzero(began & (s.place == s.code(stage)))),
                    int(np.count_nonzero(ended & (s.place == s.code(stage)))))
            for stage in STAGES}


def year_one_columns(children: Iterable[Child] | Histories) -> dict[str, float]:
    """Year-1 starts and ends of each stage as flat columns for a run's row."""
    flows = stage_flows(children, 0.0, DAYS_PER_YEAR)
    out: dict[str, float] = {}
    for stage, (starts, ends) in flows.items():
        out[f"{FLOW_PREFIX}{stage}_starts"] = float(starts)
        out[f"{FLOW_PREFIX}{stage}_ends"] = float(ends)
    return out
