"""The pathway: decisions and durations of each stage of a child's journey."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from simulation.scenario.schema.base import (
    STAGES,
    Branches,
    PlacementShares,
    Probability,
    Stage,
    StageDuration,
    Strict,
)


class AssessmentOutcomes(Branches):
    close: Probability
    cin: Probability
    s47: Probability
    cla: Probability


class CinOrClose(Branches):
    cin: Probability
    close: Probability


class CinEnd(Branches):
    close: Probability
    s47: Probability
    cla: Probability


class CpEnd(Branches):
    cin: Probability
    close: Probability
    cla: Probability


class ClaExits(Branches):
    home: Probability
    sgo: Probability
    adoption: Probability
    other: Probability


class Assessment(Strict):
    duration: StageDuration
    outcomes: AssessmentOutcomes


class S47(Strict):
    icpc_rate: Probability = Field(description="share of s47 enquiries that reach an ICPC")
    time_to_icpc: StageDuration
    duration_no_icpc: StageDuration
    no_icpc_outcomes: CinOrClose


class Icpc(Strict):
    cp_plan_rate: Probability
    otherwise: CinOrClose


class Cin(Strict):
    duration: StageDuration
    outcomes: CinEnd


class Cp(Strict):
    duration: StageDuration
    # At least a week apart: a review every 1e-6 months would never let the run end.
    first_review_months: Annotated[float, Field(ge=0.25, le=120.0)] = 3.0
    review_interval_months: Annotated[float, Field(ge=0.25, le=120.0)] = 6.0
    outcomes: CpEnd


class Cla(Strict):
    duration: StageDuration
    placements: PlacementShares
    exits: ClaExits
    leaving_age_years: Annotated[float, Field(gt=0.0, le=25.0)] = 18.0


class PastInvolvement(Strict):
    """One kind of past involvement (a CP plan, a period of care) and what it does to routing."""

    odds_ratio: Annotated[float, Field(gt=0.0, le=1000.0)] = Field(
        1.0, description="multiplies the odds of each route this past makes likelier "
                         "(1 = a child with this past meets the same odds as any other)")
    new_referral_share: Probability = Field(
        0.0, description="share of children referred for the first time in the run who "
                         "already had this past (an earlier involvement the run did not see)")


class History(Strict):
    """How a child's past changes the odds when they come back (docs/scenarios.md).

    ``previous_cp`` raises the odds of assessment -> s47, CIN plan -> s47, s47 -> ICPC and
    ICPC -> CP plan; ``previous_cla`` raises the odds of every route into care (from the
    assessment, a CIN plan and a CP plan). A child's past is what the run saw them go
    through, plus what they brought with them (``new_referral_share``, day 0's caseload:
    ``initial_state.history``).
    """

    previous_cp: PastInvolvement = PastInvolvement()
    previous_cla: PastInvolvement = PastInvolvement()


class Pathway(Strict):
    referral_nfa_rate: Probability
    assessment: Assessment
    s47: S47
    icpc: Icpc
    cin: Cin
    cp: Cp
    cla: Cla
    history: History = History()


InitialPlace = Literal["assessment", "s47", "cin", "cp", "cla", "closed_returning"]


class InitialHistory(Strict):
    """Shares of day 0's open cases, by place, with each past (measured from the steady
    state by ``csflow initial-state``). For ``cp``, a previous plan is one before the
    current one; for ``closed_returning``, any plan or care so far."""

    previous_cp: dict[InitialPlace, Probability] = Field(default_factory=dict)
    previous_cla: dict[InitialPlace, Probability] = Field(default_factory=dict)


# Every open case is a child's: ages run to 18 (care leavers are not modelled), and a stage
# can have been open at most a childhood (a CP or CIN plan may have begun before birth).
MAX_AGE_YEARS = 18.0
MAX_ELAPSED_DAYS = 18 * 365.25


def _band(v: list[float], top: float, unit: str) -> list[float]:
    if len(v) != 2:
        raise ValueError(f"must be [low, high], got {len(v)} value(s)")
    lo, hi = v
    if not 0 <= lo <= hi <= top:
        raise ValueError(f"must be [low, high] with 0 <= low <= high <= {top:g} {unit}, "
                         f"got [{lo:g}, {hi:g}]")
    return [float(lo), float(hi)]


class OpenCases(Strict):
    """A group of day 0's open cases alike in stage, age band, time in the stage and past
    (``csflow import`` writes them from the children open at the last 31 March; no row is
    a child). Each child of the group gets an age and an elapsed time drawn uniformly in
    the bands, and a remaining time from the stage's duration given that elapsed time."""

    stage: Stage
    count: Annotated[int, Field(ge=0)]
    age_years: list[float] = Field(description="[low, high): age on day 0, in years")
    elapsed_days: list[float] = Field(
        description="[low, high]: days since the current stage (plan, period of care, "
                    "enquiry, referral awaiting assessment) began")
    previous_cp: Probability = Field(
        0.0, description="share of the group with a past CP plan (for cp: one before the "
                         "current plan); 0 or 1 for a group alike, between for merged ones")
    previous_cla: Probability = Field(
        0.0, description="share of the group with an earlier (ended) period of care")

    @field_validator("age_years")
    @classmethod
    def _age(cls, v: list[float]) -> list[float]:
        v = _band(v, MAX_AGE_YEARS, "years")
        if v[0] == v[1]:
            raise ValueError(f"must be [low, high] with low < high, got [{v[0]:g}, {v[1]:g}]")
        return v

    @field_validator("elapsed_days")
    @classmethod
    def _elapsed(cls, v: list[float]) -> list[float]:
        return _band(v, MAX_ELAPSED_DAYS, "days")

    @model_validator(mode="after")
    def _possible(self) -> OpenCases:
        if self.stage == "cla" and self.elapsed_days[0] > self.age_years[1] * 365.25:
            raise ValueError(f"elapsed_days: care cannot have begun before birth ("
                             f"{self.elapsed_days[0]:g} days for children under "
                             f"{self.age_years[1]:g})")
        return self


class InitialState(Strict):
    """Open cases on day 0 (a council's current caseload), so year 1 is not a fill-up.

    Counts by stage are drawn from the model's stationary law (elapsed time and age);
    ``cases`` declares the caseload of the stages it names instead, as groups with their
    bands and past (docs/scenarios.md): the count of such a stage must equal its groups'
    sum."""

    assessment: Annotated[int, Field(ge=0)] = 0
    s47: Annotated[int, Field(ge=0)] = 0
    cin: Annotated[int, Field(ge=0)] = 0
    cp: Annotated[int, Field(ge=0)] = 0
    cla: Annotated[int, Field(ge=0)] = 0
    closed_returning: Annotated[int, Field(ge=0)] = Field(
        0, description="closed cases that will be re-referred (the re-referral pipeline)")
    history: InitialHistory = InitialHistory()
    cases: list[OpenCases] = Field(
        default_factory=list, description="groups of open cases (stage, bands, past); "
                                          "the stages they name are seeded from them")

    def grouped_stages(self) -> tuple[str, ...]:
        """The stages whose day-0 children come from ``cases`` (in journey order)."""
        named = {g.stage for g in self.cases}
        return tuple(s for s in STAGES if s in named)

    @field_validator("cases")
    @classmethod
    def _counts_match_groups(cls, cases: list[OpenCases], info: ValidationInfo) -> list[OpenCases]:
        for stage in STAGES:
            groups = [g.count for g in cases if g.stage == stage]
            declared = info.data.get(stage)
            if groups and declared is not None and declared != sum(groups):
                raise ValueError(
                    f"the {stage} groups hold {sum(groups):,} cases but initial_state."
                    f"{stage} is {declared:,}; a stage with groups is seeded from them, so "
                    f"declare {stage}: {sum(groups)}")
        return cases
