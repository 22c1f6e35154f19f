"""Steady-state flow arithmetic: which inputs make a council's own figures come back out.

The model's pathway is a network of shares; per referral, the expected number of s47
enquiries, CIN plans, CP plans and entries to care follows from them by linear
algebra, and the stock of each plan from its entries times its mean length (Little's
law, with care cut off at the leaving age). Solving these for the few inputs a profile
pins down is exact in expectation; ``experiments.calibration.tune_local`` then removes
what the arithmetic leaves out (waits, ageing out of CIN and CP) by simulation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.randomness.distributions import DAYS_PER_YEAR, build_distribution
from simulation.scenario.schema.scenario import Scenario

# Share of re-referral draws that do return (the child is still under 18 then), measured
# on configs/baseline.yaml: re-referrals are 34.7% of referrals with probability 0.38
# (5 years, seeds 1-2: 1 - front-door referrals / all referrals).
RETURNING_SHARE = 0.914
GRID = (np.arange(4000) + 0.5) / 4000  # quantile grid: deterministic means, no random draws


class SolveError(ValueError):
    """Figures the template's pathway cannot reproduce; names the profile field."""


@dataclass(frozen=True)
class Flows:
    """Expected entries a year to each stage, for a number of referrals a year."""

    referrals: float
    assessments: float
    s47: float
    cp: float
    cin: float
    cla: float


def re_referral_share(s: Scenario) -> float:
    """Share of all referrals that are re-referrals of closed cases."""
    return s.demand.re_referral.probability * RETURNING_SHARE


def _k(s: Scenario) -> tuple[float, float]:
    """CIN entries per s47 enquiry (k2) and CP plans per s47 enquiry."""
    p = s.pathway
    cp_per_s47 = p.s47.icpc_rate * p.icpc.cp_plan_rate
    k1 = ((1 - p.s47.icpc_rate) * p.s47.no_icpc_outcomes.cin
          + p.s47.icpc_rate * (1 - p.icpc.cp_plan_rate) * p.icpc.otherwise.cin)
    return k1 + cp_per_s47 * p.cp.outcomes.cin, cp_per_s47


def flows(s: Scenario, referrals: float, s47_share: float | None = None) -> Flows:
    """Expected entries a year to each stage (every plan ends: ageing out is ignored)."""
    p = s.pathway
    a = p.assessment.outcomes
    a_s47 = a.s47 if s47_share is None else s47_share
    k2, cp_per_s47 = _k(s)
    c_s47 = p.cin.outcomes.s47
    assessments = referrals * (1 - p.referral_nfa_rate)
    s47 = assessments * (a_s47 + c_s47 * a.cin) / (1 - c_s47 * k2)
    cin = assessments * a.cin + s47 * k2
    cp = s47 * cp_per_s47
    cla = assessments * a.cla + cin * p.cin.outcomes.cla + cp * p.cp.outcomes.cla
    return Flows(referrals, assessments, s47, cp, cin, cla)


def s47_share(s: Scenario, referrals: float, s47: float) -> dict[str, float]:
    """Assessment outcome shares giving ``s47`` enquiries a year: the s47 share solved,
    the not-in-need (close) share taking up the difference."""
    p = s.pathway
    a = p.assessment.outcomes
    k2, _ = _k(s)
    c_s47 = p.cin.outcomes.s47
    assessments = referrals * (1 - p.referral_nfa_rate)
    share = s47 / assessments * (1 - c_s47 * k2) - c_s47 * a.cin
    close = 1.0 - a.cin - a.cla - share
    if share < 0 or close < 0:
        raise SolveError(
            f"per_month.strategy_meetings: {s47 / 12:,.0f} a month cannot come from "
            f"{referrals / 12:,.0f} referrals a month with the template's other assessment "
            f"outcomes (needs an s47 share of {share:.2f} of assessments)")
    return {"close": close, "cin": a.cin, "s47": share, "cla": a.cla}


def mean_years(spec: dict[str, Any]) -> float:
    """Mean of a duration distribution, in years (midpoint quantile rule)."""
    return float(build_distribution(spec).ppf_many(GRID).mean()) / DAYS_PER_YEAR


def care_mean_years(s: Scenario, multiplier: float) -> float:
    """Mean time in care with durations stretched by ``multiplier``, cut off at the leaving
    age for children entering at the ages children are referred."""
    spec = dict(s.pathway.cla.duration)
    spec["multiplier"] = spec.get("multiplier", 1.0) * multiplier
    lengths = build_distribution(spec).ppf_many(GRID[::10])
    bands = s.demand.age_at_contact_years
    ages = build_distribution({"dist": "histogram", "edges": bands.edges,
                               "weights": bands.weights, "unit": "years"}).ppf_many(GRID[::20])
    room = np.maximum(s.pathway.cla.leaving_age_years * DAYS_PER_YEAR - ages, 1.0)
    return float(np.minimum(lengths[:, None], room[None, :]).mean()) / DAYS_PER_YEAR


def unaccompanied_in_care(s: Scenario, population: int) -> float:
    """Unaccompanied children looked after in steady state (``demand.unaccompanied``):
    entries a year x mean time in care, cut off at the leaving age. They are part of a
    council's looked-after count but arrive on their own stream, so the other children's
    care lengths and day-0 count must hold the rest."""
    spec = s.demand.unaccompanied
    if spec is None or spec.entries_per_10k == 0:
        return 0.0
    lengths = build_distribution(spec.duration).ppf_many(GRID[::10])
    bands = spec.age_at_entry_years
    ages = build_distribution({"dist": "histogram", "edges": bands.edges,
                               "weights": bands.weights, "unit": "years"}).ppf_many(GRID[::20])
    room = np.maximum(s.pathway.cla.leaving_age_years * DAYS_PER_YEAR - ages, 0.0)
    stay = float(np.minimum(lengths[:, None], room[None, :]).mean()) / DAYS_PER_YEAR
    return spec.entries_per_10k * population / 10_000 * stay


def duration_multiplier(spec: dict[str, Any], entries: float, stock: float) -> float:
    """Stretch of a plan length so entries x mean length = stock (Little's law)."""
    return stock / entries / mean_years(spec)


def care_multiplier(s: Scenario, entries: float, stock: float, field: str) -> float:
    """Stretch of care episodes so entries x mean time in care (age-capped) = stock."""
    want = stock / entries
    lo, hi = 1e-3, 1e3
    if care_mean_years(s, hi) < want:
        raise SolveError(f"{field}: {stock:,} looked after cannot come from {entries:,.0f} "
                         f"entries a year before the leaving age")
    for _ in range(60):  # bisection on a monotone function: deterministic
        mid = (lo * hi) ** 0.5
        lo, hi = (mid, hi) if care_mean_years(s, mid) < want else (lo, mid)
    return (lo * hi) ** 0.5
