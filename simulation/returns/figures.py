"""The council's own flow and stock figures, year by year, counted from its returns.

These are what an imported scenario should reproduce, what the back-test compares a
forecast with, and the local figures a calibration can target. Counts only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulation.returns.journeys import YEAR_DAYS, Journeys

FLOWS = ("referrals", "s47_enquiries", "icpcs", "cp_plans_started", "cin_plans_started",
         "cla_started", "cla_ended")
STOCKS = ("cin_open", "cp_open", "cla_open")


def _in(days: np.ndarray, lo: float, hi: float) -> int:
    days = np.asarray(days, float)
    return int(np.sum((days >= lo) & (days <= hi)))


def _open_at(start: np.ndarray, end: np.ndarray, day: float) -> np.ndarray:
    start, end = np.asarray(start, float), np.asarray(end, float)
    return (start <= day) & (np.isnan(end) | (end > day))


def yearly_figures(j: Journeys) -> pd.DataFrame:
    """One row per full collection year: flows in the year and stocks at its 31 March.

    The care figures include unaccompanied children when the scenario models them
    (``j.uasc_modelled``), and leave them out otherwise; they are also shown apart."""
    p = j.periods
    care = p if j.uasc_modelled else p[~p["uasc"]]
    rows = []
    for year in j.years:
        lo, hi = j.window(year)
        row: dict[str, float] = {"year": year}
        if j.cin is not None and year in j.cin.years:  # a year the CIN census covers
            c = j.cin
            row["referrals"] = _in(c.referrals["ref"], lo, hi)
            row["referral_nfa_rate"] = _share(c.referrals["nfa"],
                                              _mask(c.referrals["ref"], lo, hi))
            row["s47_enquiries"] = _in(c.s47["start"], lo, hi)
            row["icpcs"] = _in(c.s47["icpc"], lo, hi)
            row["cp_plans_started"] = _in(c.cp_plans["start"], lo, hi)
            row["cin_plans_started"] = _in(c.cin_plans["start"], lo, hi)
            started = _mask(c.cp_plans["start"], lo, hi)
            row["cp_repeat_rate"] = _share(c.cp_plans["previous"] > 0, started)
            row["cin_open"] = int(_open_at(c.cin_plans["start"], c.cin_plans["end"], hi).sum())
            row["cp_open"] = int(_open_at(c.cp_plans["start"], c.cp_plans["end"], hi).sum())
        row["cla_started"] = _in(care["start"], lo, hi)
        ended = _mask(care["end"], lo, hi)
        row["cla_ended"] = int(ended.sum())
        age_out = (care["end"] - care["dob"]) / YEAR_DAYS >= 17.95
        row["cla_leavers_18plus_rate"] = _share(age_out, ended)
        row["cla_open"] = int(_open_at(care["start"], care["end"], hi).sum())
        uasc = p[p["uasc"]]
        row["uasc_cla_started"] = _in(uasc["start"], lo, hi)
        row["uasc_cla_open"] = int(_open_at(uasc["start"], uasc["end"], hi).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def _mask(days: pd.Series, lo: float, hi: float) -> np.ndarray:
    d = np.asarray(days, float)
    return (d >= lo) & (d <= hi)


def _share(flags: pd.Series, mask: np.ndarray) -> float:
    n = int(np.sum(mask))
    return float(np.asarray(flags, bool)[mask].mean()) if n else float("nan")
