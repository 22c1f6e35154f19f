"""The workforce: roles, their time and cost, and how people leave, are away and are replaced.

Everything here is mechanics with published defaults (DfE workforce statistics, PSSRU
unit costs): turnover, agency cover, recruitment lags, leave and sickness. Changes of
social worker then come out of these mechanics instead of being typed in.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from simulation.scenario.schema.base import (
    DistSpec,
    NonNegative,
    Probability,
    Strict,
    check_shares,
)

TIME_USES = ("direct", "recording", "travel", "other")
# A week's cost, bounded so that totals over years and thousands of staff stay finite.
WeeklyGbp = Annotated[float, Field(ge=0.0, le=1_000_000.0)]
PARENTAL_FACTORS = ("domestic_abuse", "mental_health", "substance_misuse")


class Role(Strict):
    """A kind of post: how much of a caseload it holds, its week, and what it costs."""

    caseload_share: Annotated[float, Field(ge=0.0, le=2.0)] = Field(
        description="share of the team caseload limit one FTE holds (0 = not case-holding)")
    qualified: bool = Field(
        False, description="a registered social worker: counts in the qualified case-holding "
                           "FTE that structures are matched on and that the management rule "
                           "(structure.qualified_per_team_manager) is applied to")
    weekly_hours: Annotated[float, Field(gt=0.0, le=168.0)] = 37.0
    time_split: dict[Literal["direct", "recording", "travel", "other"], Probability] = Field(
        default_factory=lambda: {"direct": 0.2, "recording": 0.5, "travel": 0.15, "other": 0.15},
        description="shares of working hours; direct = face to face with families")
    recording_offload_share: Probability = Field(
        0.0, description="share of this role's hours spent taking recording and admin off the "
                         "unit's case-holding staff (team/case support workers)")
    serves_factors: list[Literal["domestic_abuse", "mental_health", "substance_misuse"]] = Field(
        default_factory=list, description="adult practitioners: parental factors they work with")
    weekly_cost_gbp: WeeklyGbp = Field(0.0, description="employer cost of 1 FTE a week")
    agency_weekly_cost_gbp: WeeklyGbp | None = Field(
        None, description="cost of 1 agency FTE a week (default: weekly_cost_gbp)")

    @field_validator("time_split")
    @classmethod
    def _split_sums(cls, v: dict[str, float]) -> dict[str, float]:
        return check_shares(v, "time shares")


class Absence(Strict):
    """Spells away: short ones are covered, long ones become reallocations."""

    spells_per_year: Annotated[float, Field(ge=0.0, le=365.0)]
    duration: DistSpec


class PressureEffect(Strict):
    """One workload-feedback effect: a rate or duration scaled by (1 + value x excess).

    ``excess`` is how far a unit's load (cases held plus cases waiting for a worker) is
    above its case-holding capacity, as a share of it, measured as the run goes.
    """

    value: Annotated[float, Field(ge=0.0, le=20.0)]
    low: NonNegative
    high: NonNegative
    evidence: str = Field(min_length=1)

    @model_validator(mode="after")
    def _range(self) -> PressureEffect:
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g}) must not exceed high ({self.high:g})")
        return self


# What each pressure effect scales, for the assumed-effects listings.
PRESSURE_TARGETS = {
    "turnover": "workforce.turnover_rate, agency_turnover_rate x (1 + value x excess load)",
    "sickness": "workforce.sickness.spells_per_year x (1 + value x excess load)",
    "assessment_duration": "pathway.assessment.duration x (1 + value x excess load)",
}


class Pressure(Strict):
    """Workload feedback: assumed effects of a unit's load above its limit, measured as
    the run goes (every ``interval_days``). Zeroed by ``--no-effects``."""

    interval_days: Annotated[float, Field(ge=1.0, le=366.0)] = Field(
        7.0, description="how often each unit's load is measured (days)")
    max_excess: Annotated[float, Field(gt=0.0, le=100.0)] = Field(
        1.0, description="excess load is capped here (1 = twice the capacity)")
    turnover: PressureEffect | None = Field(
        None, description="leaving rate of people in an overloaded unit")
    sickness: PressureEffect | None = Field(
        None, description="sickness spells of people in an overloaded unit")
    assessment_duration: PressureEffect | None = Field(
        None, description="length of assessments started in an overloaded unit")

    def effects(self) -> list[tuple[str, PressureEffect]]:
        """The declared effects with a non-zero value, as (name, effect)."""
        return [(n, e) for n in PRESSURE_TARGETS
                if (e := getattr(self, n)) is not None and e.value != 0]

    def factor(self, name: str) -> float:
        """The effect's value, 0 when undeclared."""
        e = getattr(self, name)
        return e.value if e is not None else 0.0


class Workforce(Strict):
    roles: dict[str, Role]
    turnover_rate: Annotated[float, Field(ge=0.0, le=5.0)] = Field(
        0.0, description="permanent staff leaving a year, as a share of those in post")
    agency_turnover_rate: Annotated[float, Field(ge=0.0, le=10.0)] = Field(
        0.0, description="agency staff leaving a year, as a share of those in post")
    internal_move_rate: Annotated[float, Field(ge=0.0, le=5.0)] = Field(
        0.0, description="permanent staff moving to another role inside the council a year, "
                         "as a share of those in post (their cases are reallocated: cause "
                         "role_change; models.moves)")
    agency_cover: bool = Field(True, description="vacancies are covered by agency staff")
    agency_start: DistSpec = Field(
        default_factory=lambda: {"dist": "fixed", "value": 4, "unit": "weeks"},
        description="time from a vacancy to agency cover")
    recruitment: DistSpec = Field(
        default_factory=lambda: {"dist": "fixed", "value": 6, "unit": "months"},
        description="time from a vacancy to a permanent recruit starting")
    initial_vacancy_rate: Probability = Field(0.0, description="posts without a permanent "
                                                               "worker on day 0")
    turnover_roles: list[str] | None = Field(
        None, description="roles that turn over (default: case-holding roles)")
    annual_leave: Absence | None = None
    sickness: Absence | None = None
    reallocate_after_days: Annotated[float, Field(gt=0.0, le=3_653.0)] = Field(
        28.0, description="an absence longer than this (calendar days) becomes a reallocation")
    hours_needed_per_case_week: dict[
        Literal["assessment", "s47", "cin", "cp", "cla"],
        Annotated[float, Field(ge=0.0, le=168.0)]] = Field(
        default_factory=dict,
        description="direct work a case needs a week, by stage (for the time balance)")
    pressure: Pressure = Field(
        default_factory=Pressure, description="workload feedback (assumed effects)")


class Costs(Strict):
    """Unit costs for staff and placements, in one stated price year."""

    price_year: Annotated[int, Field(ge=2000, le=2100)] = 2025
    placement_weekly_gbp: dict[str, WeeklyGbp] = Field(
        default_factory=dict, description="weekly cost by placement type (pathway.cla.placements)")
    sources: str = ""


class ParentalFactors(Strict):
    """Prevalence of parental factors at assessment, sampled per child."""

    domestic_abuse: Probability = 0.0
    mental_health: Probability = 0.0
    substance_misuse: Probability = 0.0
