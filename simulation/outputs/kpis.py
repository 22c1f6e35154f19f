"""Key performance indicators of one run, each defined in docs/kpis.md.

Annual counts are per simulated year; rates are fractions (0.226, not 22.6).
Measures of changes of social worker are taken year by year, as the DfE's stability
measure is, and averaged over the years of the run, so they do not grow with the
run's length.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.engine.recorder import Child, Recorder
from simulation.outputs.histories import Histories, histories
from simulation.outputs.measures import MIN_GAP_DAYS, money_and_time, worker_changes
from simulation.outputs.reasons import cla_change_shares
from simulation.scenario import STAGES, Scenario

KPI_ORDER: tuple[str, ...] = (
    "contacts", "referrals", "re_referral_rate", "referral_nfa_rate",
    "assessments_completed", "assessment_median_working_days", "assessments_within_45wd_rate",
    "s47_enquiries", "s47_per_referral", "icpcs", "icpc_per_s47", "cp_plans_started",
    "cp_per_icpc", "cp_reviews", "cin_plans_started", "cla_started", "cla_ended",
    "cp_repeat_rate", "cin_per_10k_end", "cp_per_10k_end", "cla_per_10k_end",
    "cla_per_10k_end_excl_uasc", "children_in_need_per_10k_end", "mean_days_in_care",
    "median_days_in_care", "cla_left_within_28_days_rate", "cla_leavers_18plus_rate", "sw_changes_per_child",
    "children_3plus_workers_rate", "sw_changes_handover", "sw_changes_departure",
    "sw_changes_absence", "sw_changes_caseload_management", "sw_changes_unallocated",
    "sw_changes_role_change",
    "changes_to_known_worker_rate", "cla_3plus_workers_rate", "cla_change_share_handover",
    "cla_change_share_departure", "cla_change_share_absence",
    "cla_change_share_caseload_management", "mean_days_unallocated",
    "child_days_unallocated_per_child", "children_waited_rate", "longest_wait_days",
    "wait_p95_days", "unallocated_cases_mean",
    "mean_caseload", "face_to_face_hours_per_child_week",
    "face_to_face_hours_with_factors_per_child_week",
    "face_to_face_hours_without_factors_per_child_week", "direct_time_coverage_rate",
    "staff_turnover_rate", "agency_share", "vacancy_rate", "staff_cost_gbp",
    "placement_cost_gbp", "total_cost_gbp", "cost_per_child_gbp",
)

# The board-paper measures, in reading order: the report's headline table and figures.
HEADLINE: tuple[str, ...] = (
    "referrals", "assessments_within_45wd_rate", "cp_plans_started", "cla_started",
    "cla_per_10k_end", "mean_days_in_care", "sw_changes_per_child",
    "children_3plus_workers_rate", "cla_3plus_workers_rate", "mean_days_unallocated",
    "mean_caseload", "face_to_face_hours_per_child_week", "total_cost_gbp",
    "cost_per_child_gbp")
# A shorter list for the terminal table and the --precision rule. Days unallocated is
# left out of the rule on purpose: its mean is near zero, so a relative half-width of
# 5% would rarely be reached.
BRIEF_HEADLINE: tuple[str, ...] = tuple(k for k in HEADLINE if k not in (
    "cla_3plus_workers_rate", "mean_days_unallocated", "face_to_face_hours_per_child_week",
    "cost_per_child_gbp"))



@dataclass(frozen=True)
class KpiInfo:
    """How to read a KPI: label, kind (count, rate, days, ...) and the national figure.

    For ``count`` KPIs ``national`` is per 10,000 children a year (scale by population).
    """

    label: str
    kind: str
    national: float | None = None


KPI_INFO: dict[str, KpiInfo] = {
    "contacts": KpiInfo("Contacts a year", "count"),
    "referrals": KpiInfo("Referrals a year", "count", 518),
    "re_referral_rate": KpiInfo("Re-referrals within 12 months", "rate", 0.226),
    "referral_nfa_rate": KpiInfo("Referrals with no further action", "rate", 0.065),
    "assessments_completed": KpiInfo("Assessments completed a year", "count", 530),
    "assessment_median_working_days": KpiInfo("Assessment length, median", "working_days", 33),
    "assessments_within_45wd_rate": KpiInfo("Assessments within 45 working days", "rate", 0.86),
    "s47_enquiries": KpiInfo("Section 47 enquiries a year", "count", 190),
    "s47_per_referral": KpiInfo("s47 enquiries per referral", "ratio", 0.36),
    "icpcs": KpiInfo("Initial CP conferences a year", "count", 59),
    "icpc_per_s47": KpiInfo("ICPCs per s47 enquiry", "ratio", 0.31),
    "cp_plans_started": KpiInfo("CP plans started a year", "count", 51),
    "cp_per_icpc": KpiInfo("CP plans per ICPC", "ratio", 0.86),
    "cp_reviews": KpiInfo("CP review conferences a year", "count"),
    "cin_plans_started": KpiInfo("CIN plans started a year", "count"),
    "cla_started": KpiInfo("Children starting to be looked after a year", "count", 27),
    "cla_ended": KpiInfo("Children leaving care a year", "count", 28),
    "cin_per_10k_end": KpiInfo("On CIN plans per 10,000 (end)", "per_10k"),
    "cp_per_10k_end": KpiInfo("On CP plans per 10,000 (end)", "per_10k"),
    "cla_per_10k_end": KpiInfo("Looked after per 10,000 (end)", "per_10k"),
    "cla_per_10k_end_excl_uasc": KpiInfo(
        "Looked after per 10,000 (end), excluding unaccompanied children", "per_10k"),
    "children_in_need_per_10k_end": KpiInfo("Children in need per 10,000 (end)", "per_10k",
                                            333),
    "cp_repeat_rate": KpiInfo("CP plans that are second or subsequent", "rate", 0.24),
    "cla_leavers_18plus_rate": KpiInfo("Care leavers aged 18+", "rate", 0.40),
    "mean_days_in_care": KpiInfo("Time in care of leavers, mean", "days"),
    "median_days_in_care": KpiInfo("Time in care of leavers, median", "days"),
    "cla_left_within_28_days_rate": KpiInfo("Leavers looked after 28 days or less", "rate"),
    "sw_changes_per_child": KpiInfo("Changes of social worker per child a year", "ratio"),
    "children_3plus_workers_rate": KpiInfo("Children with 3+ social workers in a year", "rate"),
    "mean_days_unallocated": KpiInfo("Days a case waits for a worker, mean", "days"),
    "unallocated_cases_mean": KpiInfo("Unallocated cases at a time, mean", "cases"),
    "mean_caseload": KpiInfo("Cases per case-holding FTE, mean", "ratio", 15.2),
    "sw_changes_handover": KpiInfo("  of which handovers between teams", "ratio"),
    "sw_changes_departure": KpiInfo("  of which a worker leaving", "ratio"),
    "sw_changes_absence": KpiInfo("  of which a long absence", "ratio"),
    "sw_changes_caseload_management": KpiInfo("  of which caseload management", "ratio"),
    "sw_changes_unallocated": KpiInfo("  of which a period with no worker", "ratio"),
    "sw_changes_role_change": KpiInfo("  of which a worker moving role in the council", "ratio"),
    "cla_change_share_handover": KpiInfo(
        "Looked-after children's changes: routine transfer", "rate", 0.19),
    "cla_change_share_departure": KpiInfo(
        "Looked-after children's changes: worker left or other", "rate", 0.59),
    "cla_change_share_absence": KpiInfo(
        "Looked-after children's changes: absence", "rate", 0.05),
    "cla_change_share_caseload_management": KpiInfo(
        "Looked-after children's changes: caseload management", "rate", 0.17),
    "child_days_unallocated_per_child": KpiInfo(
        "Days without a worker per child a year", "days"),
    "children_waited_rate": KpiInfo("Children who waited for a worker in a year", "rate"),
    "longest_wait_days": KpiInfo("Longest wait for a worker", "days"),
    "wait_p95_days": KpiInfo("Wait for a worker, 95th percentile of those who waited",
                             "days"),
    "changes_to_known_worker_rate": KpiInfo("Changes to a worker the family knew", "rate"),
    "cla_3plus_workers_rate": KpiInfo("Looked-after children with 3+ workers in a year",
                                      "rate"),
    "face_to_face_hours_per_child_week": KpiInfo("Face-to-face hours per child a week",
                                                 "hours"),
    "face_to_face_hours_with_factors_per_child_week": KpiInfo(
        "Face-to-face hours per child a week, families with parental factors", "hours"),
    "face_to_face_hours_without_factors_per_child_week": KpiInfo(
        "Face-to-face hours per child a week, families without", "hours"),
    "direct_time_coverage_rate": KpiInfo("Direct time available over time cases need", "rate"),
    "staff_turnover_rate": KpiInfo("Social worker turnover", "rate", 0.118),
    "agency_share": KpiInfo("Agency share of social workers", "rate", 0.13),
    "vacancy_rate": KpiInfo("Vacancy rate", "rate", 0.142),
    "staff_cost_gbp": KpiInfo("Staff cost a year", "gbp"),
    "placement_cost_gbp": KpiInfo("Placement cost a year", "gbp"),
    "total_cost_gbp": KpiInfo("Total cost a year", "gbp"),
    "cost_per_child_gbp": KpiInfo("Cost per child with a worker", "gbp"),
}


# The end-of-run stock KPIs and the local figure (open on 31 March) each compares with.
STOCK_KPIS = {"cin_per_10k_end": "cin_open", "cp_per_10k_end": "cp_open",
              "cla_per_10k_end": "cla_open"}


def comparator(scenario: Scenario, name: str) -> tuple[float, str, int | None] | None:
    """What a KPI is compared with: the council's own figure (``local_figures``, latest
    year) where the scenario has one, else the national figure (counts scaled from per
    10,000 children to the population): (value, "local" | "national", year or None)."""
    figure = scenario.local_figures.get(name)
    if figure is not None:
        year, value = figure.latest()
        return value, "local", year
    stock = scenario.local_figures.get(STOCK_KPIS.get(name, ""))
    if stock is not None:  # an open count on 31 March, as the KPI's rate per 10,000
        year, value = stock.latest()
        return value * 10_000 / scenario.population, "local", year
    national = national_figure(name, scenario.population)
    return None if national is None else (national, "national", None)
# Where each national figure comes from, by publication (never a file): see sources.py.
NATIONAL_SOURCES: dict[str, str] = {
    "referrals": "911dae20", "re_referral_rate": "911dae20", "referral_nfa_rate": "911dae20",
    "assessments_completed": "3fb5a93d", "assessment_median_working_days": "3fb5a93d",
    "assessments_within_45wd_rate": "3fb5a93d", "s47_enquiries": "b0749fa2",
    "s47_per_referral": "b0749fa2", "icpcs": "b0749fa2", "icpc_per_s47": "b0749fa2",
    "cp_plans_started": "0183a28b", "cp_per_icpc": "0183a28b", "cla_started": "CLA 2023",
    "cla_ended": "e25347dc", "mean_caseload": "6d765688", "staff_turnover_rate": "6d765688",
    "agency_share": "6d765688", "vacancy_rate": "6d765688",
}


def local_comparators(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """The council's own figures (``local_figures``, latest year) as the report's
    comparators: {kpi: {value, source}} for every KPI that has one."""
    found = {}
    for kpi in KPI_ORDER:
        hit = comparator(scenario, kpi)
        if hit is not None and hit[1] == "local":
            figure = scenario.local_figures.get(kpi)
            source = figure.source if figure is not None else "the council's own figures"
            found[kpi] = {"value": hit[0], "source": f"{source} ({hit[2]})"}
    return found


@dataclass(frozen=True)
class Practical:
    """The smallest difference worth a reader's attention: ``absolute`` in the KPI's own
    unit (rates as fractions: 0.01 is one percentage point), or ``relative`` to the
    baseline's mean; the larger applies. docs/kpis.md lists and justifies them."""

    absolute: float = 0.0
    relative: float = 0.0

    def threshold(self, baseline: float) -> float:
        return max(self.absolute, self.relative * abs(baseline)) if np.isfinite(
            baseline) else self.absolute


# By kind, then per KPI where the kind's rule does not fit.
PRACTICAL_BY_KIND: dict[str, Practical] = {
    "count": Practical(relative=0.02), "rate": Practical(absolute=0.01),
    "ratio": Practical(relative=0.02), "gbp": Practical(relative=0.01),
    "days": Practical(absolute=7.0), "working_days": Practical(absolute=1.0),
    "hours": Practical(absolute=0.1), "per_10k": Practical(absolute=1.0),
    "cases": Practical(absolute=5.0),
}
PRACTICAL: dict[str, Practical] = {
    "sw_changes_per_child": Practical(absolute=0.05),
    "sw_changes_handover": Practical(absolute=0.02),
    "sw_changes_departure": Practical(absolute=0.02),
    "sw_changes_absence": Practical(absolute=0.02),
    "sw_changes_role_change": Practical(absolute=0.02),
    "sw_changes_caseload_management": Practical(absolute=0.02),
    "mean_caseload": Practical(absolute=0.5),
    "mean_days_unallocated": Practical(absolute=1.0),
    "mean_days_in_care": Practical(absolute=14.0),
    "median_days_in_care": Practical(absolute=14.0),
}


def practical(kpi: str) -> Practical:
    """The practical threshold of a KPI (its own, else its kind's, else 2% of the baseline)."""
    if kpi in PRACTICAL:
        return PRACTICAL[kpi]
    kind = KPI_INFO[kpi].kind if kpi in KPI_INFO else ""
    return PRACTICAL_BY_KIND.get(kind, Practical(relative=0.02))


def is_notable(kpi: str, difference: float, low: float, high: float, baseline: float) -> bool:
    """Called out in a report: the 95% CI excludes zero AND the difference is at least the
    KPI's practical threshold."""
    if not all(np.isfinite([difference, low, high])):
        return False
    return (low > 0 or high < 0) and abs(difference) >= practical(kpi).threshold(baseline)


def national_figure(kpi: str, population: int) -> float | None:
    """The national figure scaled to a council of ``population`` children (counts are
    published per 10,000 children a year)."""
    info = KPI_INFO.get(kpi)
    if info is None or info.national is None:
        return None
    return info.national * population / 10_000 if info.kind == "count" else info.national


def format_kpi(name: str, value: float | None, population: int | None = None,
               scale: float | None = None) -> str:
    """A KPI value as people read it: 22.6%, 5,180, 33.0 days.

    ``scale`` (the largest magnitude shown beside it, e.g. an interval's far end) picks
    the unit, so both ends of an interval read in one unit: £0.36m to £5.83m."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    kind = KPI_INFO[name].kind if name in KPI_INFO else "ratio"
    if kind == "rate":
        return f"{value:.1%}"
    if kind in ("count", "cases"):
        return f"{value:,.0f}"
    if kind == "gbp":  # millions where the pounds are noise next to the uncertainty
        big = abs(value if scale is None else scale) >= 1e6
        return f"£{value / 1e6:,.2f}m" if big else f"£{value:,.0f}"
    if kind == "hours":
        return f"{value:,.2f}"
    if kind in ("days", "working_days", "per_10k"):
        return f"{value:,.1f}"
    return f"{value:.3g}"


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def _p95(values: list[float]) -> float:
    return float(np.percentile(values, 95)) if values else 0.0


def _median(values: Iterable[float]) -> float:
    arr = np.fromiter(values, float)
    return float(np.median(arr)) if arr.size else math.nan


def compute_kpis(rec: Recorder, *, years: float, population: int, contacts: int,
                 pending_waits: list[float], final_counts: dict[str, int],
                 pending: Iterable[tuple[Child, float]] = (),
                 history: Histories | None = None) -> dict[str, float]:
    """The KPI row of one run.

    ``pending_waits`` are the waits still running at the end (counted, censored at the
    horizon); every other request for a worker, immediate ones included, is in rec.waits.
    ``pending`` names the children behind them (child, day requested). ``history`` is
    ``histories(rec.children)`` when the caller has it already (it is built once a run).
    """
    if history is None:
        history = histories(rec.children)
    ev = {k: len(v) for k, v in rec.events.items()}
    referrals = ev["referral"]
    per_10k = 10_000 / population
    ended = [(end - start) for _, start, end, _, _ in rec.cla_episodes]
    waits = [w for _, _, w, _ in rec.waits] + pending_waits
    assess = np.asarray(rec.assessment_working_days)
    caseload = [(cases / fte) for _, cases, fte, *_ in rec.caseload_snapshots if fte > 0]
    unalloc = rec.stocks_table().groupby("day")["unallocated"].sum()
    kpis: dict[str, float] = {
        "contacts": contacts / years,
        "referrals": referrals / years,
        "re_referral_rate": _ratio(ev["re_referral_12m"], referrals),
        "referral_nfa_rate": _ratio(ev["referral_nfa"], referrals),
        "assessments_completed": ev["assessment"] / years,
        "assessment_median_working_days": float(np.median(assess)) if assess.size else math.nan,
        "assessments_within_45wd_rate": float(np.mean(assess <= 45)) if assess.size else math.nan,
        "s47_enquiries": ev["s47"] / years,
        "s47_per_referral": _ratio(ev["s47"], referrals),
        "icpcs": ev["icpc"] / years,
        "icpc_per_s47": _ratio(ev["icpc"], ev["s47"]),
        "cp_plans_started": ev["cp_start"] / years,
        "cp_per_icpc": _ratio(ev["cp_start"], ev["icpc"]),
        "cp_reviews": ev["cp_review"] / years,
        "cin_plans_started": ev["cin_start"] / years,
        "cla_started": ev["cla_start"] / years,
        "cla_ended": len(ended) / years,
        "cp_repeat_rate": _ratio(ev["cp_start_repeat"], ev["cp_start"]),
        "cin_per_10k_end": final_counts["cin"] * per_10k,
        "cp_per_10k_end": final_counts["cp"] * per_10k,
        "cla_per_10k_end": final_counts["cla"] * per_10k,
        "cla_per_10k_end_excl_uasc": (final_counts["cla"] - rec.uasc_in_care) * per_10k,
        # CIN census: children in need at 31 March = every open case (being assessed, s47,
        # CIN and CP plans, looked after); the model has no other kind of open case.
        "children_in_need_per_10k_end": sum(final_counts[s] for s in STAGES) * per_10k,
        "mean_days_in_care": float(np.mean(ended)) if ended else math.nan,
        "median_days_in_care": _median(ended),
        "cla_left_within_28_days_rate": float(np.mean(np.asarray(ended) <= 28)) if ended
        else math.nan,
        "cla_leavers_18plus_rate": _ratio(sum(r == "18+" for *_, r in rec.cla_episodes),
                                          len(ended)),
        "mean_days_unallocated": _ratio(sum(waits), len(waits)),
        "longest_wait_days": max(waits, default=0.0),
        "wait_p95_days": _p95([w for w in waits if w >= MIN_GAP_DAYS]),
        "unallocated_cases_mean": float(unalloc.mean()) if len(unalloc) else math.nan,
        "mean_caseload": float(np.mean(caseload)) if caseload else math.nan,
    }
    whole_years = max(int(math.floor(years + 1e-9)), 1)
    kpis.update(worker_changes(history, whole_years, pending))
    kpis.update(cla_change_shares(history, whole_years))
    kpis.update(money_and_time(rec.accounts, rec.workforce, rec.departures, years))
    kpis["cost_per_child_gbp"] = _ratio(kpis["total_cost_gbp"],
                                        kpis.pop("children_with_worker_per_year"))
    return {k: kpis[k] for k in KPI_ORDER}
