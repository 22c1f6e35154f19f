"""The returns joined into journeys: dates on one day-number scale, collection years,
periods of care linked to CIN referrals by the child's id (the council's own case
reference appears in both returns), and who is unaccompanied.

Everything here is in memory only; the estimates and figures built from it are counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulation.returns.clean import periods_of_care
from simulation.returns.errors import Report
from simulation.returns.fields import in_schema
from simulation.returns.read import EPOCH, CinCensus, Ssda903

YEAR_DAYS = 365.25


def day_of(year: int, month: int, day: int) -> float:
    return float((np.datetime64(f"{year:04d}-{month:02d}-{day:02d}", "D") - EPOCH).astype(int))


def collection_year(days: np.ndarray) -> np.ndarray:
    """The year whose 31 March ends the collection year each day falls in (NaN stays NaN)."""
    days = np.asarray(days, float)
    out = np.full(days.shape, np.nan)
    ok = ~np.isnan(days)
    dates = (EPOCH + days[ok].astype(int)).astype("datetime64[M]")
    year = dates.astype("datetime64[Y]").astype(int) + 1970
    month = dates.astype(int) % 12 + 1
    out[ok] = year + (month >= 4)
    return out


@dataclass
class Journeys:
    """A council's returns, cleaned and on one time scale, cut at the last 31 March."""

    years: list[int]         # full collection years observed
    start: float             # 1 April of the first year (day number)
    end: float               # 31 March of the last year
    cin: CinCensus | None
    periods: pd.DataFrame    # child, start, end, rec, placement, episodes, dob, uasc
    social_worker: pd.DataFrame | None
    report: Report
    # unaccompanied children have their own arrivals in the scenario (issue 9b's
    # demand.unaccompanied): then the care figures and day 0's caseload include them
    uasc_modelled: bool = False
    cin_start: float = float("nan")   # 1 April of each return's own first year: items
    care_start: float = float("nan")  # ended before it are not in that return

    def window(self, year: int) -> tuple[float, float]:
        return day_of(year - 1, 4, 1), day_of(year, 3, 31)


def build_journeys(s903: Ssda903, cin: CinCensus | None, report: Report,
                   last_year: int | None = None) -> Journeys:
    """Cleaned journeys from the returns; ``last_year`` drops later collections (hold-out)."""
    years = sorted(set(s903.years) | (set(cin.years) if cin else set()))
    if last_year is not None:
        years = [y for y in years if y <= last_year]
    episodes = s903.episodes[s903.episodes["year"].isin(years)]
    periods = periods_of_care(episodes, report)
    dob = (s903.header.sort_values("year").drop_duplicates("CHILD", keep="last")
           .set_index("CHILD")["DOB"])
    periods["dob"] = periods["child"].map(dob).to_numpy(float)
    missing = periods["dob"].isna()
    if missing.any():
        report.counts["periods of care with no header row (age unknown)"] += int(missing.sum())
    uasc = set(s903.uasc["CHILD"])
    periods["uasc"] = periods["child"].isin(uasc)
    end = day_of(years[-1], 3, 31)
    periods.loc[periods["start"] > end, "start"] = np.nan
    periods = periods.dropna(subset=["start"]).reset_index(drop=True)
    periods.loc[periods["end"] > end, "end"] = np.nan
    if cin is not None:
        cin = latest_records(cin, years, report)
    sw = s903.social_worker
    if sw is not None:
        sw = sw[sw["year"].isin(years)]
    care_years = [y for y in s903.years if y in years]
    cin_years = [y for y in cin.years if y in years] if cin is not None else care_years
    return Journeys(years, day_of(years[0] - 1, 4, 1), end, cin, periods, sw, report,
                    in_schema("demand.unaccompanied"), day_of(cin_years[0] - 1, 4, 1),
                    day_of(care_years[0] - 1, 4, 1))


def latest_records(cin: CinCensus, years: list[int], report: Report) -> CinCensus:
    """Each referral and item once, from the latest census (of ``years``) that holds it:
    a referral open over two years is in both returns, the later with its end dates."""
    keep = set(years)

    def latest(frame: pd.DataFrame, keys: list[str], what: str) -> pd.DataFrame:
        frame = frame[frame["year"].isin(keep)].sort_values("year", kind="stable")
        out = frame.drop_duplicates(keys, keep="last")
        report.counts[f"duplicate CIN {what} dropped (same child, referral and start in "
                      "one census)"] += int(frame.duplicated([*keys, "year"]).sum())
        return out.reset_index(drop=True)

    item = ["child", "ref", "start"]
    return CinCensus(latest(cin.referrals, ["child", "ref"], "referrals"),
                     latest(cin.assessments, item, "assessments"),
                     latest(cin.cin_plans, item, "CIN plans"),
                     latest(cin.s47, item, "s47 enquiries"),
                     latest(cin.cp_plans, item, "CP plans"),
                     [y for y in cin.years if y in keep], cin.files)
