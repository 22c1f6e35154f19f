"""Day 0's open caseload from the returns, as groups no row of which is a child.

Each child open at the last 31 March is taken once, at the deepest stage (care, CP plan,
CIN plan, s47 enquiry, referral awaiting its assessment), with the time since that stage
began, their age that day and their past (a CP plan before: for ``cp``, one before the
current plan; an ended period of care). Those records stay in memory; what is written
is counts of children alike in stage, age band, elapsed band and past
(``initial_state.cases``), with small cells merged into coarser ones so that every row
but a stage's last holds at least ``MIN_CELL`` children.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from simulation.returns.journeys import YEAR_DAYS, Journeys

# DfE's age bands of the looked-after statistics: under 1, 1-4, 5-9, 10-15, 16-17.
AGE_EDGES: tuple[float, ...] = (0, 1, 5, 10, 16, 18)
# Time in the current stage: 3, 6, 12 months, 2, 5 years, and up to a childhood.
ELAPSED_EDGES: tuple[float, ...] = (0, 91, 183, 365, 730, 1826, 6574)
MIN_CELL = 5  # children a written row holds at least (but a stage's last, merged row)
STAGE_ORDER = ("assessment", "s47", "cin", "cp", "cla")


def band(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """The band index of each value (NaN -> -1: unknown); values past the ends go to the
    first or last band."""
    values = np.asarray(values, float)
    idx = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    return np.where(np.isnan(values), -1, idx)


def _span(lo_idx: np.ndarray, hi_idx: np.ndarray, edges: Sequence[float]) -> list[float]:
    """The band from the lowest member's band to the highest's (unknown: the whole range)."""
    if (lo_idx < 0).any():
        return [float(edges[0]), float(edges[-1])]
    return [float(edges[int(lo_idx.min())]), float(edges[int(hi_idx.max()) + 1])]


def _row(stage: str, g: pd.DataFrame, min_cell: int) -> dict[str, Any]:
    # a merged leftover of fewer than min_cell children says nothing of their ages
    age = (_span(g["a"].to_numpy(), g["a"].to_numpy(), AGE_EDGES) if len(g) >= min_cell
           else [float(AGE_EDGES[0]), float(AGE_EDGES[-1])])
    return {"stage": stage, "count": int(len(g)), "age_years": age,
            "elapsed_days": _span(g["e"].to_numpy(), g["e_top"].to_numpy(), ELAPSED_EDGES),
            "previous_cp": round(float(g["previous_cp"].mean()), 4),
            "previous_cla": round(float(g["previous_cla"].mean()), 4)}


def group_cases(cases: pd.DataFrame, min_cell: int = MIN_CELL) -> list[dict[str, Any]]:
    """Groups of open cases (``initial_state.cases`` rows) from per-child records
    (stage, age in years, elapsed days, elapsed_open_ended, previous_cp, previous_cla).

    Children alike in stage, age band, elapsed band and past form a row when at least
    ``min_cell`` of them are alike; the rest are pooled by stage, age and elapsed band
    (past as shares), then by stage and age band (elapsed as the span of their bands),
    then by stage (one last row, whose age band is the whole 0-18 if it holds fewer than
    ``min_cell``). Counts by stage are kept exactly.
    """
    c = cases.assign(a=band(cases["age"], AGE_EDGES), e=band(cases["elapsed"], ELAPSED_EDGES))
    # a stage that began before the extract: its time is at least what is seen, so its band
    # runs to the top
    c["e_top"] = np.where(c["elapsed_open_ended"], len(ELAPSED_EDGES) - 2, c["e"])
    out: list[dict[str, Any]] = []
    levels: tuple[list[str], ...] = (["a", "e", "e_top", "previous_cp", "previous_cla"],
                                     ["a", "e", "e_top"], ["a"], [])
    for stage in STAGE_ORDER:
        rest = c[c["stage"] == stage]
        for keys in levels:
            if rest.empty:
                break
            if not keys:
                out.append(_row(stage, rest, min_cell))
                break
            size = rest.groupby(keys)["stage"].transform("size")
            big = rest[size >= min_cell]
            for _, g in big.groupby(keys, sort=True):
                out.append(_row(stage, g, min_cell))
            rest = rest[size < min_cell]
    return out


def open_cases(j: Journeys, members: dict[str, set[str]], care: pd.DataFrame,
               open_s47: pd.DataFrame | None = None,
               waiting: pd.DataFrame | None = None) -> pd.DataFrame:
    """One record per child open at ``j.end`` (in memory only: no id is kept): stage, age
    (years, NaN if no date of birth), days since the stage began, whether that start is
    before the extract (so only a lower bound), and their past."""
    E = j.end
    rows: list[pd.DataFrame] = []
    dob = care.drop_duplicates("child").set_index("child")["dob"]
    open_care = care[care["start"].le(E) & care["end"].isna()]
    starts = {"cla": open_care.groupby("child")["start"].max()}
    before = {"cla": open_care.groupby("child")["start_known"].min().eq(False)}
    past_cp: set[str] = set()
    repeat_now: set[str] = set()
    if j.cin is not None:
        c = j.cin
        dob = c.referrals.dropna(subset=["dob"]).drop_duplicates("child") \
            .set_index("child")["dob"].combine_first(dob)
        cp_open = c.cp_plans[(c.cp_plans["start"] <= E) & c.cp_plans["end"].isna()]
        starts["cp"] = cp_open.groupby("child")["start"].max()
        current = cp_open.sort_values("start").drop_duplicates("child", keep="last")
        earliest = c.cp_plans.groupby("child")["start"].min()
        repeat_now = set(current.loc[(current["previous"] > 0)
                                     | (current["child"].map(earliest) < current["start"]),
                                     "child"])
        past_cp = set(c.cp_plans.loc[c.cp_plans["start"] <= E, "child"]) \
            | set(c.cp_plans.loc[c.cp_plans["previous"] > 0, "child"])
        cin_open = c.cin_plans[(c.cin_plans["start"] <= E) & c.cin_plans["end"].isna()]
        starts["cin"] = cin_open.groupby("child")["start"].max()
        starts["s47"] = open_s47.groupby("child")["start"].max()
        starts["assessment"] = waiting.groupby("child")["ref"].max()
    ended = set(care.loc[care["end"].notna(), "child"])
    for stage in STAGE_ORDER:
        kids = sorted(members.get(stage, ()))
        if not kids:
            continue
        start = starts[stage].reindex(kids).to_numpy(float)
        age = (E - dob.reindex(kids).to_numpy(float)) / YEAR_DAYS
        elapsed = np.maximum(E - start, 0.0)
        if stage == "cla":  # care does not begin before birth (a data slip otherwise)
            elapsed = np.where(np.isnan(age), elapsed,
                               np.maximum(np.minimum(elapsed, age * YEAR_DAYS), 0.0))
        age = np.where(age < 0, np.nan, age)  # an unborn child's plan: age unknown
        open_ended = (before[stage].reindex(kids).fillna(False).to_numpy(bool)
                      if stage in before else np.zeros(len(kids), bool))
        had_cp = repeat_now if stage == "cp" else past_cp
        rows.append(pd.DataFrame({
            "stage": stage, "age": age, "elapsed": elapsed, "elapsed_open_ended": open_ended,
            "previous_cp": [k in had_cp for k in kids],
            "previous_cla": [k in ended for k in kids]}))
    if not rows:
        return pd.DataFrame(columns=["stage", "age", "elapsed", "elapsed_open_ended",
                                     "previous_cp", "previous_cla"])
    return pd.concat(rows, ignore_index=True)
