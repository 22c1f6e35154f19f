"""Drift from the declared caseload: does year 1 move the stocks a council said it has?

A scenario's ``initial_state`` is the council's caseload today. If the flows do not
balance at that caseload (more plans start than end, or plans last longer than the
council's own), the stock drifts in year 1 and every comparison then measures the
drift as much as the structure. The warning says by how much, and which inflow and
outflow are out of balance, so the user knows which input to fix.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

DRIFT_MARGIN = 0.10   # warn when a stock ends year 1 more than 10% away from day 0
DRIFT_STAGES = ("cin", "cp", "cla")   # the plans a council declares
LABELS = {"cin": "CIN", "cp": "CP", "cla": "Looked after"}
YEAR_DAYS = 365.25
END_WINDOW_DAYS = 28.0  # the year-1 end stock is the mean over its last four weeks


def year_end_stock(stocks: pd.DataFrame, stage: str, year: float = 1.0) -> float | None:
    """Mean open cases of ``stage`` over the last four weeks of year ``year`` (over
    replications too, if the table has several); None if the run is shorter."""
    end = year * YEAR_DAYS
    if stocks.empty or stocks["day"].max() < end - 1.0:
        return None
    rows = stocks[(stocks["stage"] == stage) & (stocks["day"] > end - END_WINDOW_DAYS)
                  & (stocks["day"] <= end + 1.0)]
    return float(rows["open"].mean()) if len(rows) else None


def day_zero_stock(stocks: pd.DataFrame, stage: str) -> int:
    """Open cases of ``stage`` at the first snapshot (mean over replications), or 0."""
    rows = stocks[(stocks["stage"] == stage) & (stocks["day"] == stocks["day"].min())]
    return round(float(rows["open"].mean())) if len(rows) else 0


def drift_warnings(name: str, initial: Mapping[str, int], stocks: pd.DataFrame,
                   flows: Mapping[str, tuple[float, float]],
                   margin: float = DRIFT_MARGIN, effects: bool = False) -> list[str]:
    """One line per declared stock (CIN, CP, looked after) that ends year 1 more than
    ``margin`` away from its day-0 count, with that stage's year-1 starts and ends.

    ``flows`` maps a stage to (starts, ends) in year 1 (means over replications);
    ``effects``: the scenario has assumed effects, which may be what moves the flows.
    """
    fix = ("assumed effects or the structure change the flows at the declared caseload"
           if effects else "the inputs do not hold the declared caseload (check plan "
           "lengths and entry rates, or `csflow calibrate --local --tune`)")
    out = []
    for stage in DRIFT_STAGES:
        # the declared count, or the day-0 stock where the run starts more (looked-after
        # unaccompanied children arrive on their own stream and are not in initial_state)
        start = max(initial.get(stage, 0), day_zero_stock(stocks, stage))
        end = year_end_stock(stocks, stage)
        if not start or end is None:
            continue
        change = end / start - 1.0
        if abs(change) <= margin:
            continue
        starts, ends = flows.get(stage, (np.nan, np.nan))
        out.append(f"{name}: {LABELS[stage]} {start:,} -> {end:,.0f} ({change:+.0%}) in "
                   f"year 1, beyond the {margin:.0%} margin: starts {starts:,.0f}/yr vs ends "
                   f"{ends:,.0f}/yr; {fix}")
    return out


def batch_drift_warnings(distributions: pd.DataFrame, stocks: pd.DataFrame,
                         initial: Mapping[str, Mapping[str, int]],
                         with_effects: frozenset[str] = frozenset(),
                         prefix: str = "year1_") -> list[str]:
    """Drift warnings for every scenario of a batch, from the mean over replications;
    the year-1 flows are rows ``<prefix><stage>_starts|ends`` of the distributions table."""
    out = []
    for name, frame in stocks.groupby("scenario", sort=False):
        rows = distributions[distributions["scenario"] == name] \
            if "scenario" in distributions else distributions.iloc[0:0]
        mean = rows.groupby("measure")["value"].mean() if len(rows) else pd.Series(dtype=float)
        flows = {}
        for stage in DRIFT_STAGES:
            s, e = f"{prefix}{stage}_starts", f"{prefix}{stage}_ends"
            if s in mean and e in mean:
                flows[stage] = (float(mean[s]), float(mean[e]))
        out += drift_warnings(str(name), initial.get(str(name), {}), frame, flows,
                              effects=str(name) in with_effects)
    return out
