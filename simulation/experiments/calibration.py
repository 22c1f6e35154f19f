"""Calibration targets: the national flow figures the baseline must reproduce.

Each target names the KPI (or derived measure), the published value, its source in
DOMAIN.md, the tolerance we hold the model to, and whether an input was tuned to hit
it (a tuned figure is a check of the tuning; an untuned one is a check of the model).
Used by the calibration test, ``csflow calibrate`` and docs/calibration.md.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.analysis.drift import year_end_stock
from simulation.analysis.stats import mean_ci
from simulation.outputs.files import atomic_folder
from simulation.outputs.flows import stage_flows
from simulation.outputs.run import RunResult, simulate
from simulation.randomness.distributions import DAYS_PER_UNIT, DAYS_PER_YEAR
from simulation.scenario import Scenario, validate
from simulation.scenario.schema.local import LOCAL_STOCKS

CP_BANDS_MONTHS = [0, 3, 6, 12, 24, np.inf]
CP_BAND_NAMES = ["cp_length_under_3m", "cp_length_3_6m", "cp_length_6_12m",
                 "cp_length_1_2y", "cp_length_2y_plus"]


@dataclass(frozen=True)
class Target:
    measure: str
    value: float
    tolerance: float
    source: str
    tuned: str  # the inputs set to hit it, or "" if it comes out of the model


TARGETS: tuple[Target, ...] = (
    Target("referrals_per_10k", 518, 15, "CIN census, EES 911dae20 (d)",
           "demand.contacts_per_10k"),
    Target("re_referral_rate", 0.226, 0.015, "EES 911dae20",
           "demand.re_referral.probability, demand.re_referral.delay"),
    Target("referral_nfa_rate", 0.065, 0.01, "EES 911dae20", "pathway.referral_nfa_rate (input)"),
    Target("s47_per_referral", 0.36, 0.02, "EES b0749fa2",
           "pathway.assessment.outcomes.s47, pathway.cin.outcomes.s47"),
    Target("icpc_per_s47", 0.31, 0.02, "EES b0749fa2", "pathway.s47.icpc_rate (input)"),
    Target("cp_per_icpc", 0.86, 0.02, "EES 0183a28b", "pathway.icpc.cp_plan_rate (tuned with pathway.history)"),
    Target("assessment_median_working_days", 33, 1.5, "EES 3fb5a93d",
           "pathway.assessment.duration (published quantiles as input)"),
    Target("assessments_within_45wd_rate", 0.86, 0.02, "EES 3fb5a93d",
           "pathway.assessment.duration (published quantiles as input)"),
    Target("cp_length_under_3m", 0.159, 0.02, "EES 04a78d29", "pathway.cp.duration (bands)"),
    Target("cp_length_3_6m", 0.110, 0.02, "EES 04a78d29", "pathway.cp.duration (bands)"),
    Target("cp_length_6_12m", 0.435, 0.02, "EES 04a78d29", "pathway.cp.duration (bands)"),
    Target("cp_length_1_2y", 0.252, 0.02, "EES 04a78d29", "pathway.cp.duration (bands)"),
    Target("cp_length_2y_plus", 0.044, 0.015, "EES 04a78d29", "pathway.cp.duration (bands)"),
    Target("cla_started_per_10k", 27, 3, "CLA 2023: ~33,000 entries a year (d)",
           "pathway.cp.outcomes.cla, pathway.cin.outcomes.cla, assessment cla share, UASC entries (input)"),
    Target("cla_ended_per_10k", 28, 3, "EES e25347dc: 34,450 leavers a year (d)",
           "pathway.cla.duration"),
    Target("mean_caseload", 15.2, 2.0, "workforce, EES 6d765688", ""),
    # Reasons looked-after children changed social worker (DOMAIN section 3), on the DfE's
    # population (simulation.outputs.reasons). Tolerance: the published rounding (0.005)
    # plus three standard errors of the 6-replication mean (run-to-run SD over 12
    # replications / sqrt(6)), rounded up to 0.01 (docs/calibration.md).
    Target("cla_change_share_handover", 0.19, 0.05, "EES 77d3d950",
           "(not tuned: the care-team handover, on the DfE population)"),
    Target("cla_change_share_caseload_management", 0.17, 0.03, "EES 77d3d950",
           "structure.new_starter_fill"),
    Target("cla_change_share_absence", 0.05, 0.04, "EES 77d3d950",
           "workforce.reallocate_after_days"),
    Target("cla_change_share_departure", 0.59, 0.04, "EES 77d3d950: departures and other",
           "workforce.internal_move_rate (assumption, within its range)"),
    Target("cp_repeat_rate", 0.24, 0.03, "CIN census, CP plans: second or subsequent (DOMAIN)",
           "pathway.history.previous_cp (odds_ratio, new_referral_share), "
           "initial_state.history (measured)"),
    Target("cla_leavers_18plus_rate", 0.40, 0.05, "EES e25347dc: 40% of leavers aged 18+",
           "pathway.cla.duration, demand.unaccompanied.entries_per_10k (input)"),
)


def measures(result: RunResult) -> dict[str, float]:
    """The calibration measures of one run (KPIs plus the CP plan length bands)."""
    k = result.kpis
    per_10k = 10_000 / result.scenario.population
    lengths = np.asarray(result.simulation.rec.cp_lengths) / DAYS_PER_UNIT["months"]
    bands = np.histogram(lengths, CP_BANDS_MONTHS)[0] / max(len(lengths), 1)
    out = {
        "referrals_per_10k": k["referrals"] * per_10k,
        "cla_started_per_10k": k["cla_started"] * per_10k,
        "cla_ended_per_10k": k["cla_ended"] * per_10k,
        **{name: k[name] for name in (
            "re_referral_rate", "referral_nfa_rate", "s47_per_referral", "icpc_per_s47",
            "cp_per_icpc", "assessment_median_working_days", "assessments_within_45wd_rate",
            "mean_caseload", "cla_change_share_handover", "cla_change_share_caseload_management",
            "cla_change_share_absence", "cla_change_share_departure", "cp_repeat_rate",
            "cla_leavers_18plus_rate")},
    }
    out.update(dict(zip(CP_BAND_NAMES, bands.tolist(), strict=True)))
    return out


def calibration_table(scenario: Scenario, reps: int = 6, years: float = 5.0,
                      seed: int = 0) -> pd.DataFrame:
    """Each target beside the model's mean and 95% CI over ``reps`` replications."""
    runs = pd.DataFrame([measures(simulate(scenario, seed + r, years)) for r in range(reps)])
    rows = []
    for t in TARGETS:
        ci = mean_ci(runs[t.measure])
        rows.append({"measure": t.measure, "target": t.value, "model": ci.mean,
                     "ci_low": ci.low, "ci_high": ci.high, "tolerance": t.tolerance,
                     "within": abs(ci.mean - t.value) <= t.tolerance, "source": t.source,
                     "tuned": t.tuned})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- local figures
# The inputs tune_local sets, for each local figure it tunes to (the rest are checks).
LOCAL_TUNED: dict[str, str] = {
    "referrals": "demand.front_door.referral_rate",
    "s47_enquiries": "pathway.assessment.outcomes.s47 (close takes up the rest)",
    "cin_open": "pathway.cin.duration.multiplier",
    "cp_open": "pathway.cp.duration.multiplier",
    "cla_open": "pathway.cla.duration.multiplier",
}
LOCAL_RELATIVE_TOLERANCE = 0.05


def local_measures(result: RunResult, year: float = 1.0) -> dict[str, float]:
    """A run's value of every measure a local figure may name: the KPIs, and each stock
    at the end of ``year`` (mean of its last four weeks)."""
    out = dict(result.kpis)
    for name, stage in LOCAL_STOCKS.items():
        value = year_end_stock(result.stocks, stage, year)
        out[name] = math.nan if value is None else value
    return out


def local_table(scenario: Scenario, reps: int = 4, years: float = 1.0,
                seed: int = 0) -> pd.DataFrame:
    """Each local figure (latest year) beside the model's mean and 95% CI over year 1..
    ``years`` of ``reps`` replications (stocks: at the end of year 1).

    Within tolerance means |model - local| <= the figure's own tolerance, else 5% of the
    figure plus the CI half-width (the model's own sampling error)."""
    if not scenario.local_figures:
        return pd.DataFrame()
    runs = pd.DataFrame([local_measures(simulate(scenario, seed + r, years))
                         for r in range(reps)])
    rows = []
    for name, figure in scenario.local_figures.items():
        year, value = figure.latest()
        if name not in runs:
            continue
        ci = mean_ci(runs[name].dropna())
        tol = figure.tolerance if figure.tolerance is not None else (
            LOCAL_RELATIVE_TOLERANCE * abs(value) + ci.half_width)
        rows.append({"measure": name, "year": year, "local": value, "model": ci.mean,
                     "ci_low": ci.low, "ci_high": ci.high, "tolerance": tol,
                     "within": abs(ci.mean - value) <= tol, "source": figure.source,
                     "tuned": LOCAL_TUNED.get(name, "")})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class TuneStep:
    """One iteration of tune_local: the inputs tried and what the model gave."""

    iteration: int
    inputs: dict[str, float]
    model: dict[str, float]


def _year_one(scenario: Scenario, reps: int, seed: int) -> dict[str, float]:
    """Means over replications of year 1: local measures and stage starts and ends."""
    rows = []
    for r in range(reps):
        result = simulate(scenario, seed + r, 1.0)
        row = local_measures(result)
        for stage, (starts, ends) in stage_flows(result.simulation.rec.children, 0.0,
                                                 DAYS_PER_YEAR).items():
            row[f"{stage}_starts"], row[f"{stage}_ends"] = starts, ends
        result.simulation.dispose()
        rows.append(row)
    return pd.DataFrame(rows).mean(numeric_only=True).to_dict()


def tune_local(raw: dict[str, Any], reps: int = 4, seed: int = 0, iterations: int = 4
               ) -> tuple[dict[str, Any], list[TuneStep]]:
    """Tune the inputs that are not observed directly so a scenario's year 1 hits its
    local figures: fixed-point steps with common random numbers (the same seeds every
    iteration, so the steps see the inputs, not noise).

    - referrals: front-door referral rate x local/model (re-referrals follow);
    - s47 enquiries: the assessment s47 share x local/model (not-in-need takes the rest);
    - CIN, CP, looked after: the plan-length multiplier x ends/starts in year 1, so that
      at the council's own caseload (initial_state) as many plans end as start.

    Returns the tuned raw scenario and each iteration's inputs and results.
    """
    data = copy.deepcopy(raw)
    figures = validate(data).local_figures
    target = {n: f.latest()[1] for n, f in figures.items()}
    steps: list[TuneStep] = []
    for it in range(iterations):
        scenario = validate(data, "tuning")
        got = _year_one(scenario, reps, seed)
        inputs = _inputs(data)
        steps.append(TuneStep(it, inputs, got))
        door = data["demand"]["front_door"]
        if "referrals" in target and got["referrals"] > 0:
            door["referral_rate"] = min(1.0, door["referral_rate"] * target["referrals"]
                                        / got["referrals"])
        outcomes = data["pathway"]["assessment"]["outcomes"]
        if "s47_enquiries" in target and got["s47_enquiries"] > 0:
            share = outcomes["s47"] * target["s47_enquiries"] / got["s47_enquiries"]
            outcomes["close"] = max(0.0, outcomes["close"] - (share - outcomes["s47"]))
            outcomes["s47"] = 1.0 - outcomes["close"] - outcomes["cin"] - outcomes["cla"]
        for name, stage in LOCAL_STOCKS.items():
            if name in target and got[f"{stage}_starts"] > 0 and got[f"{stage}_ends"] > 0:
                spec = data["pathway"][stage]["duration"]
                spec["multiplier"] = spec.get("multiplier", 1.0) * (
                    got[f"{stage}_ends"] / got[f"{stage}_starts"])
    steps.append(TuneStep(iterations, _inputs(data), _year_one(validate(data), reps, seed)))
    return data, steps


def _inputs(data: dict[str, Any]) -> dict[str, float]:
    p = data["pathway"]
    return {"demand.front_door.referral_rate": data["demand"]["front_door"]["referral_rate"],
            "pathway.assessment.outcomes.s47": p["assessment"]["outcomes"]["s47"],
            **{f"pathway.{s}.duration.multiplier": p[s]["duration"].get("multiplier", 1.0)
               for s in ("cin", "cp", "cla")}}
def write_calibration(out: Path, table: pd.DataFrame, manifest: dict[str, Any]) -> Path:
    """calibration.csv and manifest.json (resolved scenario, seed, reps: ``csflow rerun``)."""
    with atomic_folder(out, force=True) as tmp:
        table.to_csv(tmp / "calibration.csv", index=False)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return out
