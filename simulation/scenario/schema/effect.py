"""An assumed practice effect: a named relative change with its evidence and range."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from simulation.scenario.schema.base import Strict

MAX_EFFECT = 100.0


Factor = Literal["domestic_abuse", "mental_health", "substance_misuse"]

# What a dated effect (``starts_at_years``) may target: numbers the run reads again after
# it is built, so they can switch at a date (simulation.engine.policy): the pathway a child
# meets (routing.Routes resolves one per period), the contacts rate (a step in demand,
# drawn by thinning like demand.changes), re-referrals (read at each closure), and what
# the weekly accounts read (hours, time split, costs). Everything else (turnover,
# recruitment, absences, caseload limits, staff, the initial state...) is read once when
# the run is built: a dated effect on it is refused.
DATED_TARGETS = tuple(re.compile(p) for p in (
    r"pathway\.(?!cp\.(first_review_months|review_interval_months)$)"
    r"(?!cla\.leaving_age_years$)(?!history\.[^.]+\.new_referral_share$).+",
    r"demand\.contacts_per_10k",
    r"demand\.re_referral\.(probability|delay)(\..+)?",
    r"workforce\.roles\.[^.]+\.(time_split|weekly_hours|recording_offload_share"
    r"|weekly_cost_gbp|agency_weekly_cost_gbp)(\..+)?",
    r"workforce\.hours_needed_per_case_week(\..+)?",
    r"costs\.placement_weekly_gbp(\..+)?",
))


def dated_target_problem(target: str) -> str | None:
    """Why a dated effect cannot act on ``target`` (a dotted path), or None if it can."""
    if any(p.fullmatch(target) for p in DATED_TARGETS):
        return None
    hint = (" (staffing changes at a date: structure.changes)"
            if target.startswith("structure.") else "")
    return (f"starts_at_years: target {target!r} is read once when a run starts and cannot "
            f"switch at a date; dated effects may target pathway decisions and durations, "
            f"demand.contacts_per_10k, demand.re_referral, role hours, time split and costs, "
            f"hours_needed_per_case_week, placement costs{hint}")


class AppliesTo(Strict):
    """The children an effect acts on: those with at least one of ``factors``."""

    factors: list[Factor] = Field(min_length=1)


class Effect(Strict):
    """An assumed practice effect: a relative change the user asserts, with its evidence.

    ``value`` -0.3 means 30% fewer (a probability or rate times 0.7) or 30% shorter.
    """

    kind: Literal["probability", "duration", "rate"]
    target: str | list[str] = Field(
        description="dotted path(s) into the scenario; '*' matches every item of a list or map")
    value: float
    low: float
    high: float
    evidence: str = Field(min_length=1)
    applies_to: AppliesTo | None = Field(
        None, description="only children with these parental factors (pathway targets only); "
                          "default: every child")
    starts_at_years: float | None = Field(
        None, ge=0.0, le=100.0,
        description="years from the start of the run at which the effect starts (a policy "
                    "start date): before it the run is as without the effect; default: day 0")

    @property
    def dated(self) -> bool:
        """True if the effect starts after day 0."""
        return self.starts_at_years is not None and self.starts_at_years > 0

    def in_force(self, at_years: float | None) -> bool:
        """Whether the effect acts at ``at_years`` (None: as if every effect had started)."""
        return at_years is None or not self.dated or self.starts_at_years <= at_years

    @model_validator(mode="after")
    def _range(self) -> Effect:
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g}) must not exceed high ({self.high:g})")
        if self.value <= -1.0:
            raise ValueError(f"value must be > -1 (a relative change), got {self.value:g}")
        if self.value > MAX_EFFECT:
            raise ValueError(f"value must be at most {MAX_EFFECT:g} (a {MAX_EFFECT + 1:g}-fold "
                             f"increase), got {self.value:g}")
        if self.applies_to is not None:
            paths = [self.target] if isinstance(self.target, str) else self.target
            bad = [t for t in paths if not t.startswith("pathway.")]
            if bad:
                raise ValueError(f"applies_to selects children, so targets must be in "
                                 f"pathway: {', '.join(bad)}")
        if self.dated:
            paths = [self.target] if isinstance(self.target, str) else self.target
            for t in paths:
                problem = dated_target_problem(t)
                if problem:
                    raise ValueError(problem)
        return self
