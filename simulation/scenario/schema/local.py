"""A council's own published figures, as targets and comparators (``local_figures:``).

Written by ``csflow profile`` (from a council profile) or ``csflow import`` (from the
statutory returns). Keys are measure names: the KPI names of docs/kpis.md, plus the
stocks open at 31 March (``cin_open``, ``cp_open``, ``cla_open``). Values are per year
ending 31 March: a count a year for flows, the number open on 31 March for stocks, a
fraction for rates. ``calibrate --local`` tunes to the latest year; ``run``, ``compare``
and the report show them as the "local" comparator.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from simulation.scenario.schema.base import NonNegative, Strict

# The stock measures: children open at the end of a year (31 March), not KPIs of a run.
LOCAL_STOCKS: dict[str, str] = {"cin_open": "cin", "cp_open": "cp", "cla_open": "cla"}
# Measures a local figure may name (KPI names; 9b adds the last two to the KPIs).
LOCAL_MEASURES: tuple[str, ...] = (
    "contacts", "referrals", "re_referral_rate", "referral_nfa_rate", "assessments_completed",
    "assessment_median_working_days", "assessments_within_45wd_rate", "s47_enquiries",
    "icpcs", "cp_plans_started", "cin_plans_started", "cla_started", "cla_ended",
    "mean_days_in_care", "sw_changes_per_child", "staff_turnover_rate", "agency_share",
    "vacancy_rate", "staff_cost_gbp", "placement_cost_gbp", "cp_repeat_rate",
    "cla_leavers_18plus_rate", *LOCAL_STOCKS)


class LocalFigure(Strict):
    """One measure's published values, by year ending 31 March, and where they come from."""

    values: dict[Annotated[int, Field(ge=1990, le=2100)], NonNegative] = Field(
        min_length=1, description="year ending 31 March -> value")
    source: str = Field(min_length=1, description="where the figure is published")
    tolerance: NonNegative | None = Field(
        None, description="how close the model must come (default: 5% of the value, "
                          "widened to the model's own 95% CI half-width)")

    def latest(self) -> tuple[int, float]:
        """The most recent (year, value): the target ``calibrate --local`` tunes to."""
        year = max(self.values)
        return year, self.values[year]


def check_measures(v: dict[str, LocalFigure]) -> dict[str, LocalFigure]:
    unknown = sorted(set(v) - set(LOCAL_MEASURES))
    if unknown:
        raise ValueError(f"unknown measure(s) {', '.join(unknown)} (known: "
                         f"{', '.join(LOCAL_MEASURES)})")
    return v


def stock_measure(stage: str) -> str:
    """The local_figures name of the stock of a stage (``cin`` -> ``cin_open``)."""
    return f"{stage}_open"


__all__ = ["LOCAL_MEASURES", "LOCAL_STOCKS", "LocalFigure", "check_measures", "stock_measure"]
