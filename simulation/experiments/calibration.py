"""Calibration targets: the national flow figures the baseline must reproduce.

Each target names the KPI (or derived measure), the published value, its source in
DOMAIN.md, the tolerance we hold the model to, and whether an input was tuned to hit
it (a tuned figure is a check of the tuning; an untuned one is a check of the model).
Used by the calibration test, ``csflow calibrate`` and docs/calibration.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulation.analysis.stats import mean_ci
from simulation.outputs.run import RunResult, simulate
from simulation.randomness.distributions import DAYS_PER_UNIT
from simulation.scenario import Scenario

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
    Target("cp_per_icpc", 0.86, 0.02, "EES 0183a28b", "pathway.icpc.cp_plan_rate (input)"),
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
           "pathway.cp.outcomes.cla, pathway.cin.outcomes.cla, assessment cla share"),
    Target("cla_ended_per_10k", 28, 3, "EES e25347dc: 34,450 leavers a year (d)",
           "pathway.cla.duration"),
    Target("mean_caseload", 15.2, 2.0, "workforce, EES 6d765688", ""),
    # Reasons looked-after children changed social worker (DOMAIN section 3).
    Target("cla_change_share_caseload_management", 0.17, 0.04, "EES 77d3d950",
           "structure.new_starter_fill"),
    Target("cla_change_share_absence", 0.05, 0.03, "EES 77d3d950",
           "workforce.reallocate_after_days"),
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
            "mean_caseload", "cla_change_share_caseload_management",
            "cla_change_share_absence")},
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
