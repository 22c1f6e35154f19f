"""The pathway: decisions and durations of each stage of a child's journey."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from simulation.scenario.schema.base import (
    Branches,
    PlacementShares,
    Probability,
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


class InitialState(Strict):
    """Open cases on day 0 (a council's current caseload), so year 1 is not a fill-up."""

    assessment: Annotated[int, Field(ge=0)] = 0
    s47: Annotated[int, Field(ge=0)] = 0
    cin: Annotated[int, Field(ge=0)] = 0
    cp: Annotated[int, Field(ge=0)] = 0
    cla: Annotated[int, Field(ge=0)] = 0
    closed_returning: Annotated[int, Field(ge=0)] = Field(
        0, description="closed cases that will be re-referred (the re-referral pipeline)")
    history: InitialHistory = InitialHistory()


